import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { BadInput, Conflict } from '../errors.js';
import type { Logger } from '../runtime/logger.js';
import type { Keys } from './keys.js';
import { KeptSubscriptions } from './kept-subscriptions.js';
import { safeReport, type Report } from '../events/report.js';

/** One stored version of a configuration document. */
export interface ConfigVersion<T = unknown> {
  kind: string;
  /** 0 when nothing was ever stored */
  version: number;
  doc: T | null;
  updatedAt: number | null;
  author: string | null;
}

export interface LiveConfigOptions {
  log?: Logger;
  /** archive of changes (the gateway wires the event log); called once per accepted put */
  report?: Report;
  /** versions kept per kind @defaultValue 100 */
  historyLimit?: number;
}

export interface PutOptions {
  author?: string;
  /** optimistic concurrency: reject with 409 unless the stored version is this one */
  ifVersion?: number;
  /** extra checks after the schema (cross-references); return issues to reject */
  check?: (doc: unknown) => ConfigIssue[];
}

export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

type Listener = (v: ConfigVersion) => void;

// Version bump, document, history and notification in one step: a reader never sees a
// version without its document, and every stored version is announced.
const PUT_SCRIPT = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= cur then return {-1, cur} end
local v = cur + 1
redis.call('HSET', KEYS[1], 'version', v, 'doc', ARGV[2], 'updatedAt', ARGV[3], 'author', ARGV[4])
redis.call('LPUSH', KEYS[2], cjson.encode({version = v, doc = ARGV[2], updatedAt = tonumber(ARGV[3]), author = ARGV[4]}))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
redis.call('PUBLISH', KEYS[1], v)
return {v, cur}
`;

/** Turns zod issues into the `{path, message}` list a 400 body carries. */
export function zodIssues(err: z.ZodError): ConfigIssue[] {
  return err.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
}

/** The error a rejected document raises; the running configuration stays as it was. */
export function invalidConfig(kind: string, issues: ConfigIssue[]): BadInput {
  const first = issues[0];
  const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : '';
  return new BadInput(`invalid ${kind} configuration: ${where}`, {
    issues: issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/**
 * Versioned documents in Redis that every process applies within a second: a put stores
 * version N+1 with its history entry and publishes N+1; each process's subscriber re-reads
 * and calls its watchers. Subscribers also re-read after a reconnect, so a notification
 * missed while Redis was away is not a change missed.
 */
export class LiveConfig {
  private readonly sub: Redis;
  private readonly subscriptions: KeptSubscriptions;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly seen = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly report: Report;
  private readonly historyLimit: number;
  private started = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly opts: LiveConfigOptions = {},
  ) {
    this.sub = redis.duplicate();
    this.sub.on('error', (err: Error) =>
      opts.log?.warn({ err: err.message }, 'live-config subscriber'),
    );
    this.subscriptions = new KeptSubscriptions(this.sub, (err) =>
      opts.log?.warn({ err: String(err) }, 'live-config resubscribe failed'),
    );
    this.report = safeReport(opts.report);
    this.historyLimit = opts.historyLimit ?? 100;
  }

  async get<T = unknown>(kind: string): Promise<ConfigVersion<T>> {
    const h = await this.redis.hgetall(this.keys.config(kind));
    if (!h.version) return { kind, version: 0, doc: null, updatedAt: null, author: null };
    return {
      kind,
      version: Number(h.version),
      doc: JSON.parse(h.doc ?? 'null') as T,
      updatedAt: Number(h.updatedAt),
      author: h.author || null,
    };
  }

  /** Validates and stores a new version; throws BadInput (with paths) or Conflict. */
  async put<S extends z.ZodType>(
    kind: string,
    doc: unknown,
    schema: S,
    opts: PutOptions = {},
  ): Promise<{ version: number; doc: z.infer<S> }> {
    let parsed: z.ZodSafeParseResult<z.infer<S>>;
    try {
      parsed = schema.safeParse(doc);
    } catch (err) {
      // A refinement that throws on a value an earlier check already refused (e.g. new URL('')):
      // the document is invalid either way, and a client error is not a 500.
      throw invalidConfig(kind, [{ path: [], message: `invalid document (${String(err)})` }]);
    }
    if (!parsed.success) throw invalidConfig(kind, zodIssues(parsed.error));
    const extra = opts.check?.(parsed.data) ?? [];
    if (extra.length) throw invalidConfig(kind, extra);
    const res = (await this.redis.eval(
      PUT_SCRIPT,
      2,
      this.keys.config(kind),
      this.keys.configHistory(kind),
      opts.ifVersion === undefined ? '' : String(opts.ifVersion),
      JSON.stringify(parsed.data),
      String(Date.now()),
      opts.author ?? '',
      String(this.historyLimit),
    )) as [number, number];
    if (res[0] === -1) {
      throw new Conflict(`${kind} configuration is at version ${res[1]}, not ${opts.ifVersion}`, {
        version: res[1],
      });
    }
    this.report({
      type: 'config.changed',
      kind,
      version: res[0],
      previous: res[1],
      author: opts.author ?? null,
    });
    return { version: res[0], doc: parsed.data };
  }

  /** Stored versions, newest first. */
  async history(kind: string, limit = 20): Promise<ConfigVersion[]> {
    const raw = await this.redis.lrange(this.keys.configHistory(kind), 0, limit - 1);
    return raw.map((s) => {
      const e = JSON.parse(s) as {
        version: number;
        doc: string;
        updatedAt: number;
        author: string;
      };
      return {
        kind,
        version: e.version,
        doc: JSON.parse(e.doc) as unknown,
        updatedAt: e.updatedAt,
        author: e.author || null,
      };
    });
  }

  /**
   * Calls `fn` with the current version (once started) and with every later one.
   * Returns an unsubscribe function.
   */
  watch(kind: string, fn: Listener): () => void {
    let set = this.listeners.get(kind);
    const isNew = !set;
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(fn);
    if (this.started) void this.late(kind, isNew, fn);
    return () => set.delete(fn);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.sub.on('message', (channel: string) => {
      const kind = [...this.listeners.keys()].find((k) => this.keys.config(k) === channel);
      if (kind) void this.refresh(kind);
    });
    // After a reconnect, re-read everything: a PUBLISH sent while we were away is lost.
    this.sub.on('ready', () => {
      for (const k of this.listeners.keys()) void this.refresh(k);
    });
    const channels = [...this.listeners.keys()].map((k) => this.keys.config(k));
    if (channels.length) await this.subscriptions.add(...channels);
    await Promise.all([...this.listeners.keys()].map((k) => this.refresh(k)));
  }

  /** A watcher added after start(): subscribe if needed, then hand it the current version. */
  private async late(kind: string, isNew: boolean, fn: Listener): Promise<void> {
    try {
      if (isNew) await this.subscriptions.add(this.keys.config(kind));
      const v = await this.get(kind);
      fn(v);
    } catch (err) {
      this.opts.log?.warn({ err: String(err), kind }, 'live-config watch failed');
    }
  }

  async close(): Promise<void> {
    this.started = false;
    await this.sub.quit().catch(() => this.sub.disconnect());
  }

  /** Reads the current version and hands it to the watchers if it is newer than the last seen. */
  private refresh(kind: string): Promise<void> {
    // One refresh per kind at a time: watchers see versions once each, in increasing order.
    const prev = this.chains.get(kind) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        const v = await this.get(kind);
        const seen = this.seen.get(kind);
        if (seen !== undefined && seen >= v.version) return;
        this.seen.set(kind, v.version);
        for (const fn of this.listeners.get(kind) ?? []) {
          try {
            fn(v);
          } catch (err) {
            this.opts.log?.error({ err, kind }, 'live-config watcher threw');
          }
        }
      } catch (err) {
        this.opts.log?.warn({ err: String(err), kind }, 'live-config refresh failed');
      }
    });
    this.chains.set(kind, next);
    return next;
  }
}
