import type { Redis } from 'ioredis';
import type { Keys } from '../store/index.js';
import type { WorkerEvent } from '../protocol/events.js';

/**
 * Archives a worker's event exactly once: a worker numbers its events and resends the
 * unacked ones after a reconnect; the script drops any seq at or below the last archived.
 * KEYS: seq key, events stream. ARGV: seq, kind, payload JSON, time, session id.
 */
const SCRIPT = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return false end
local id = redis.call('XADD', KEYS[2], '*', 'kind', ARGV[2], 'payload', ARGV[3], 'time', ARGV[4], 'session', ARGV[5])
redis.call('SET', KEYS[1], ARGV[1])
return id
`;

export class EventIngest {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.redis.defineCommand('swarmmlIngest', { numberOfKeys: 2, lua: SCRIPT });
  }

  /** Returns the new stream id, or null when this seq was already archived (a resend). */
  async ingest(sessionId: string, seq: number, e: WorkerEvent): Promise<string | null> {
    const cmd = (
      this.redis as unknown as Record<string, (...a: unknown[]) => Promise<string | null>>
    ).swarmmlIngest!;
    return cmd.call(
      this.redis,
      this.keys.sessionSeq(sessionId),
      this.keys.events(),
      seq,
      e.kind,
      JSON.stringify(e.payload),
      new Date().toISOString(),
      sessionId,
    );
  }
}
