import type { Redis } from 'ioredis';
import { PayloadTooLarge, type Keys } from '../../shared/index.js';

/**
 * A session's last checkpoint, as its worker sent it: opaque bytes (the built-in trainer's
 * format, or whatever an SDK worker saves), one per session, replaced by each save and
 * deleted when the session ends. The expiry only bounds what a session that never ends
 * (its handler gone for good) leaves behind: longer than the longest time budget.
 */
export class CheckpointStore {
  static readonly TTL_S = 8 * 24 * 3600;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly maxBytes: number,
  ) {}

  get limitBytes(): number {
    return this.maxBytes;
  }

  async save(sessionId: string, bytes: Buffer): Promise<void> {
    if (bytes.length > this.maxBytes) {
      throw new PayloadTooLarge(
        `checkpoint of ${bytes.length} bytes exceeds the limit of ${this.maxBytes}`,
        { limitBytes: this.maxBytes },
      );
    }
    await this.redis.set(
      this.keys.sessionCheckpoint(sessionId),
      bytes,
      'EX',
      CheckpointStore.TTL_S,
    );
  }

  /** The bytes, or undefined when the session has none. */
  async load(sessionId: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.keys.sessionCheckpoint(sessionId))) ?? undefined;
  }

  /** Its size in bytes, 0 when there is none. */
  async size(sessionId: string): Promise<number> {
    return this.redis.strlen(this.keys.sessionCheckpoint(sessionId));
  }

  async remove(sessionId: string): Promise<void> {
    await this.redis.del(this.keys.sessionCheckpoint(sessionId));
  }
}
