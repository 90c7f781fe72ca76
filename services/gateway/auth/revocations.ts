import type { Redis } from 'ioredis';
import { KeptSubscriptions, type Keys, type Logger } from '../../../shared/index.js';

export type RevokedListener = (tokenId: string) => void;

/** What a consumer of revocations needs: a way to hear of them. */
export interface RevocationSource {
  /** Calls `fn` with the id of every token revoked from now on; returns the unsubscribe. */
  onRevoked(fn: RevokedListener): () => void;
}

/**
 * Token revocations across gateway replicas: the revoking gateway tells its own listeners at
 * once and publishes the id on a Redis channel, and every gateway's subscriber tells its
 * listeners. A message missed while a subscriber was away is not a revocation missed: the
 * WebSocket hub re-checks every open socket's token at least once a second.
 */
export class Revocations implements RevocationSource {
  private readonly sub: Redis;
  private readonly subscriptions: KeptSubscriptions;
  private readonly listeners = new Set<RevokedListener>();
  private started = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
  ) {
    // A subscribed connection can run nothing else: one of its own.
    this.sub = redis.duplicate({ connectionName: 'gateway-revocations' });
    this.sub.on('error', (err: Error) =>
      log.warn({ err: err.message }, 'token revocations subscriber'),
    );
    this.subscriptions = new KeptSubscriptions(this.sub, (err) =>
      log.warn({ err: String(err) }, 'token revocations resubscribe failed'),
    );
    this.sub.on('message', (_channel: string, id: string) => this.tell(id));
  }

  onRevoked(fn: RevokedListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Tells this process's listeners, then every other gateway's. A failed publish is logged,
   * not thrown: the revocation is stored, and the re-checks find it within a second.
   */
  async publish(tokenId: string): Promise<void> {
    this.tell(tokenId);
    try {
      await this.redis.publish(this.keys.tokenRevocationsChannel(), tokenId);
    } catch (err) {
      this.log.warn({ err, tokenId }, 'token revocation not published; re-checks will find it');
    }
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.subscriptions.add(this.keys.tokenRevocationsChannel());
  }

  async close(): Promise<void> {
    this.started = false;
    this.listeners.clear();
    await this.sub.quit().catch(() => this.sub.disconnect());
  }

  private tell(id: string): void {
    for (const fn of this.listeners) {
      try {
        fn(id);
      } catch (err) {
        this.log.error({ err, tokenId: id }, 'revocation listener threw');
      }
    }
  }
}
