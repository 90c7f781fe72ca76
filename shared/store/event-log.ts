import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/** One archived event; `id` is its Redis Stream id (time-ordered, unique). */
export interface StoredEvent {
  id: string;
  sessionId?: string;
  kind: string;
  payload: unknown;
  /** ISO time */
  time: string;
}

export type NewEvent = Omit<StoredEvent, 'id' | 'time'> & { time?: string };

export interface EventRange {
  /** inclusive stream id @defaultValue '-' */
  from?: string;
  /** inclusive stream id @defaultValue '+' */
  to?: string;
  /** at most this many events @defaultValue 100 */
  count?: number;
  /** only this session's events */
  sessionId?: string;
}

export interface EventLogOptions {
  /** How long one XREAD blocks before looping (ms); bounds shutdown latency. @defaultValue 5000 */
  blockMs?: number;
  /** Events fetched per XREAD. @defaultValue 200 */
  batch?: number;
}

type StreamEntry = [id: string, fields: string[]];

/**
 * The durable event archive: one Redis Stream. Nothing is trimmed except by an explicit
 * `trim` call, so the retention policy lives with whoever calls it.
 */
export class EventLog {
  private readonly blockMs: number;
  private readonly batch: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    opts: EventLogOptions = {},
  ) {
    this.blockMs = opts.blockMs ?? 5000;
    this.batch = opts.batch ?? 200;
  }

  /** Appends an event and answers its stream id. */
  async append(e: NewEvent): Promise<string> {
    const fields = ['kind', e.kind, 'payload', JSON.stringify(e.payload ?? null)];
    fields.push('time', e.time ?? new Date().toISOString());
    if (e.sessionId !== undefined) fields.push('session', e.sessionId);
    return (await this.redis.xadd(this.keys.events(), '*', ...fields)) as string;
  }

  /** Events in id order; with `sessionId`, pages through the stream until `count` match. */
  async range(r: EventRange = {}): Promise<StoredEvent[]> {
    const count = r.count ?? 100;
    const to = r.to ?? '+';
    const out: StoredEvent[] = [];
    let from = r.from ?? '-';
    while (out.length < count) {
      const page = Math.max(count - out.length, r.sessionId ? this.batch : 0);
      const entries = (await this.redis.xrange(
        this.keys.events(),
        from,
        to,
        'COUNT',
        page,
      )) as StreamEntry[];
      for (const entry of entries) {
        const e = toEvent(entry);
        if (r.sessionId === undefined || e.sessionId === r.sessionId) out.push(e);
        if (out.length === count) break;
      }
      if (entries.length < page) break;
      from = `(${entries[entries.length - 1]![0]}`;
    }
    return out;
  }

  /**
   * Events after `fromId` (exclusive), live, until `signal` aborts. Resuming from the last
   * id a consumer saw misses nothing and repeats nothing. `'$'` means "only new events".
   * Uses its own connection, since XREAD BLOCK holds one.
   */
  async *tail(fromId: string, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    if (signal.aborted) return;
    const conn = this.redis.duplicate({ maxRetriesPerRequest: null });
    conn.on('error', () => {});
    // A disconnect while the client waits to reconnect settles none of its queued commands
    // (ioredis keeps them for a connection that never comes), so an abort also ends the
    // wait on the command itself.
    let onAbort = () => {};
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => {
        conn.disconnect();
        resolve('aborted');
      };
    });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const first = fromId === '$' ? await Promise.race([this.lastId(conn), aborted]) : fromId;
      if (first === 'aborted') return;
      let last = first;
      while (!signal.aborted) {
        let res: Array<[string, StreamEntry[]]> | null | 'aborted';
        try {
          res = await Promise.race([
            conn.xread(
              'COUNT',
              this.batch,
              'BLOCK',
              this.blockMs,
              'STREAMS',
              this.keys.events(),
              last,
            ),
            aborted,
          ]);
        } catch (err) {
          if (signal.aborted) return;
          throw err;
        }
        if (res === 'aborted') return;
        for (const entry of res?.[0]?.[1] ?? []) {
          last = entry[0];
          yield toEvent(entry);
          if (signal.aborted) return;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      conn.disconnect();
    }
  }

  /** Trims by an explicit policy (exact, not approximate); answers how many were removed. */
  async trim(policy: { maxLen: number } | { minId: string }): Promise<number> {
    const key = this.keys.events();
    if ('maxLen' in policy) return this.redis.xtrim(key, 'MAXLEN', policy.maxLen);
    return this.redis.xtrim(key, 'MINID', policy.minId);
  }

  async length(): Promise<number> {
    return this.redis.xlen(this.keys.events());
  }

  private async lastId(conn: Redis): Promise<string> {
    const last = (await conn.xrevrange(this.keys.events(), '+', '-', 'COUNT', 1)) as StreamEntry[];
    return last[0]?.[0] ?? '0-0';
  }
}

function toEvent([id, fields]: StreamEntry): StoredEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const e: StoredEvent = {
    id,
    kind: f.kind ?? '',
    payload: f.payload === undefined ? null : (JSON.parse(f.payload) as unknown),
    time: f.time ?? '',
  };
  if (f.session !== undefined) e.sessionId = f.session;
  return e;
}
