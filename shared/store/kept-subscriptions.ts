import type { Redis } from 'ioredis';

/**
 * The channels a pub/sub connection is subscribed to, subscribed again after every reconnect.
 *
 * This replaces ioredis's own `autoResubscribe`, which sends that SUBSCRIBE without handling
 * its failure: when the connection is closed while it is under way (a process shutting down
 * just after Redis came back), it is rejected with nobody listening. That unhandled rejection
 * ends a Node process; in a test it failed the file (`Connection is closed.`, CI).
 */
export class KeptSubscriptions {
  private readonly channels = new Set<string>();

  /** `conn` must be a connection of its own: it enters subscriber mode. */
  constructor(
    private readonly conn: Redis,
    private readonly onError: (err: unknown) => void,
  ) {
    conn.options.autoResubscribe = false;
    conn.on('ready', () => {
      // Also on the first ready: SUBSCRIBE is idempotent, and one sent while the first
      // connection was being made may have been queued for it or not.
      if (this.channels.size > 0) conn.subscribe(...this.channels).catch(this.onError);
    });
  }

  async add(...channels: string[]): Promise<void> {
    for (const c of channels) this.channels.add(c);
    await this.conn.subscribe(...channels);
  }
}
