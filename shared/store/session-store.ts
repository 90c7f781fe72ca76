import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BadInput, Conflict, NotFound } from '../errors.js';
import type { Keys } from './keys.js';
import { defineScript, hashCompareAndSet, withRetry } from './lua.js';
import { parseJson } from './names.js';
import { canTransition, isSessionState, isTerminal, type SessionState } from './session-state.js';

export type SessionKind = 'train' | 'serve' | 'batch-infer';

export interface SessionRecord {
  id: string;
  kind: SessionKind;
  state: SessionState;
  request: unknown;
  placement?: unknown;
  workerId?: string;
  exitCode?: number | null;
  flags: string[];
  reason?: string;
  lastLogs?: string[];
  trigger?: string;
  /** ISO times */
  created: string;
  updated: string;
  started?: string;
  ended?: string;
}

/** Fields any state change or update may set. */
export type SessionPatch = Partial<
  Pick<SessionRecord, 'placement' | 'workerId' | 'exitCode' | 'reason' | 'lastLogs' | 'trigger'>
>;

export interface NewSession {
  kind: SessionKind;
  request: unknown;
  trigger?: string;
  /** @defaultValue a random UUID */
  id?: string;
}

/** The fewest characters a shortened session id may have (the CLI shows 8). */
export const MIN_ID_PREFIX = 6;
/** Matches an ambiguous prefix's error lists. */
const MAX_LISTED_MATCHES = 10;

const JSON_FIELDS = new Set(['request', 'placement', 'exitCode', 'flags', 'lastLogs']);

/** KEYS: session, sessions zset, state zset. ARGV: id, created ms, field/value pairs. */
const createScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`);

/**
 * KEYS: session, zset of the expected state, zset of the new state.
 * ARGV: id, expected state, new state, field/value pairs. 'retry' when the state moved.
 */
const transitionScript = defineScript(`
local st = redis.call('HGET', KEYS[1], 'state')
if st == false then return 'nosession' end
if st ~= ARGV[2] then return 'retry' end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0'
redis.call('HSET', KEYS[1], 'state', ARGV[3], unpack(ARGV, 4))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], score, ARGV[1])
return 'ok'
`);

/** Session records with a validated state machine (session-state.ts), newest first. */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async create(input: NewSession): Promise<SessionRecord> {
    const id = input.id ?? randomUUID();
    const now = new Date();
    const rec: SessionRecord = {
      id,
      kind: input.kind,
      state: 'queued',
      request: input.request,
      flags: [],
      created: now.toISOString(),
      updated: now.toISOString(),
      ...(input.trigger === undefined ? {} : { trigger: input.trigger }),
    };
    const k = this.keys;
    const ok = await createScript(
      this.redis,
      [k.session(id), k.sessions(), k.sessionsByState('queued')],
      [id, now.getTime(), ...toFields(rec)],
    );
    if (ok !== 1) throw new Conflict(`session ${id} already exists`, { id });
    return rec;
  }

  /**
   * The full id of the session `idOrPrefix` names: the id itself, or a unique prefix of at
   * least {@link MIN_ID_PREFIX} characters (the CLI lists ids cut to 8). BadInput for a
   * shorter prefix, NotFound when nothing matches, Conflict (listing the matches) when
   * more than one session does.
   */
  async resolveId(idOrPrefix: string): Promise<string> {
    if (await this.redis.exists(this.keys.session(idOrPrefix))) return idOrPrefix;
    if (idOrPrefix.length < MIN_ID_PREFIX) {
      throw new BadInput(
        `session id "${idOrPrefix}" matches no session; a shortened id needs at least ${MIN_ID_PREFIX} characters`,
        { id: idOrPrefix, minPrefix: MIN_ID_PREFIX },
      );
    }
    const matches = await this.idsStartingWith(idOrPrefix, MAX_LISTED_MATCHES + 1);
    if (matches.length === 0)
      throw new NotFound(`session ${idOrPrefix} not found`, { id: idOrPrefix });
    if (matches.length > 1) {
      const shown = matches.slice(0, MAX_LISTED_MATCHES);
      const more = matches.length > MAX_LISTED_MATCHES ? ', ...' : '';
      throw new Conflict(
        `session id prefix "${idOrPrefix}" is ambiguous: it matches ${shown.join(', ')}${more}; give more characters`,
        { id: idOrPrefix, matches: shown },
      );
    }
    return matches[0]!;
  }

  /**
   * Up to `max` session ids that start with `prefix`. Sessions are never deleted and the
   * index is scored by time, not by id, so this scans it (ZSCAN with a literal pattern):
   * a lookup by a shortened id is a rare, interactive call.
   */
  private async idsStartingWith(prefix: string, max: number): Promise<string[]> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, page] = await this.redis.zscan(
        this.keys.sessions(),
        cursor,
        'MATCH',
        pattern,
        'COUNT',
        1000,
      );
      cursor = next;
      // ZSCAN pages alternate member and score.
      for (let i = 0; i < page.length; i += 2) found.add(page[i]!);
    } while (cursor !== '0' && found.size < max);
    return [...found].sort().slice(0, max);
  }

  async get(id: string): Promise<SessionRecord> {
    const h = await this.redis.hgetall(this.keys.session(id));
    if (!h.state) throw new NotFound(`session ${id} not found`, { id });
    return fromHash(h);
  }

  /** Newest first; `total` counts all matches for paging. */
  async list(
    opts: { state?: SessionState; limit?: number; offset?: number } = {},
  ): Promise<{ items: SessionRecord[]; total: number }> {
    const limit = opts.limit ?? 50;
    const offset = opts.offset ?? 0;
    if (opts.state !== undefined && !isSessionState(opts.state)) {
      throw new BadInput(`unknown session state ${String(opts.state)}`);
    }
    const index = opts.state ? this.keys.sessionsByState(opts.state) : this.keys.sessions();
    const [ids, total] = await Promise.all([
      limit > 0 ? this.redis.zrevrange(index, offset, offset + limit - 1) : Promise.resolve([]),
      this.redis.zcard(index),
    ]);
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.keys.session(id));
    const res = (await pipe.exec()) ?? [];
    const items = res
      .map((r) => r[1] as Record<string, string>)
      .filter((h) => h.state)
      .map(fromHash);
    return { items, total };
  }

  /**
   * Moves a session to `to`, applying `patch` in the same atomic step. Conflict when the
   * table forbids it (terminal states are final); concurrent transitions serialise.
   */
  async transition(id: string, to: SessionState, patch: SessionPatch = {}): Promise<SessionRecord> {
    await withRetry(async () => {
      const from = (await this.redis.hget(this.keys.session(id), 'state')) as SessionState | null;
      if (from === null) throw new NotFound(`session ${id} not found`, { id });
      return (await this.write(id, from, to, patch)) ? true : 'retry';
    }, `transition ${id}`);
    return this.get(id);
  }

  /**
   * Moves a session from exactly `from` to `to`; undefined, with nothing written, when another
   * writer moved it first. For a writer whose decision rests on the state it read: a stop that
   * found no worker to signal must not end a session whose launch has since recorded one.
   */
  async transitionFrom(
    id: string,
    from: SessionState,
    to: SessionState,
    patch: SessionPatch = {},
  ): Promise<SessionRecord | undefined> {
    return (await this.write(id, from, to, patch)) ? this.get(id) : undefined;
  }

  /** One compare-and-set of the state: false when it is no longer `from`. */
  private async write(
    id: string,
    from: SessionState,
    to: SessionState,
    patch: SessionPatch,
  ): Promise<boolean> {
    if (!canTransition(from, to)) {
      throw new Conflict(`session ${id} cannot go from ${from} to ${to}`, { id, from, to });
    }
    const k = this.keys;
    const now = new Date().toISOString();
    const stamps: Partial<SessionRecord> = { updated: now };
    if (to === 'running') stamps.started = now;
    if (isTerminal(to)) stamps.ended = now;
    const r = await transitionScript(
      this.redis,
      [k.session(id), k.sessionsByState(from), k.sessionsByState(to)],
      [id, from, to, ...toFields({ ...patch, ...stamps })],
    );
    if (r === 'nosession') throw new NotFound(`session ${id} not found`, { id });
    return r === 'ok';
  }

  /** Sets fields without changing state. */
  async update(id: string, patch: SessionPatch): Promise<SessionRecord> {
    const fields = toFields({ ...patch, updated: new Date().toISOString() });
    const r = await hashCompareAndSet(this.redis, [this.keys.session(id)], [0, ...fields]);
    if (r === -1) throw new NotFound(`session ${id} not found`, { id });
    return this.get(id);
  }

  /** Adds a flag once (e.g. 'exit-nonzero', 'diverged'); atomic against other writers. */
  async addFlag(id: string, flag: string): Promise<SessionRecord> {
    const key = this.keys.session(id);
    await withRetry(async () => {
      const raw = await this.redis.hget(key, 'flags');
      if (raw === null) throw new NotFound(`session ${id} not found`, { id });
      const flags = parseJson<string[]>(raw, []);
      if (flags.includes(flag)) return true;
      const next = JSON.stringify([...flags, flag]);
      const r = await hashCompareAndSet(this.redis, [key], [1, 'flags', raw, 'flags', next]);
      if (r === -1) throw new NotFound(`session ${id} not found`, { id });
      return r === 1 ? true : 'retry';
    }, `flag ${id}`);
    return this.get(id);
  }
}

function toFields(rec: Partial<SessionRecord>): string[] {
  const out: string[] = [];
  for (const [f, v] of Object.entries(rec)) {
    if (v === undefined) continue;
    out.push(f, JSON_FIELDS.has(f) ? JSON.stringify(v) : (v as string));
  }
  return out;
}

/** The order a record's fields are answered in (a hash's own order shifts as it grows). */
const FIELD_ORDER: ReadonlyArray<keyof SessionRecord> = [
  'id',
  'kind',
  'state',
  'request',
  'placement',
  'workerId',
  'exitCode',
  'flags',
  'reason',
  'lastLogs',
  'trigger',
  'created',
  'updated',
  'started',
  'ended',
];
const rank = (f: string) => {
  const i = FIELD_ORDER.indexOf(f as keyof SessionRecord);
  return i < 0 ? FIELD_ORDER.length : i;
};

function fromHash(h: Record<string, string>): SessionRecord {
  const rec: Record<string, unknown> = {};
  const fields = Object.keys(h).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const f of fields) rec[f] = JSON_FIELDS.has(f) ? parseJson(h[f], null) : h[f];
  rec.flags ??= [];
  return rec as unknown as SessionRecord;
}
