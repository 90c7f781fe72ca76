import {
  Forbidden,
  NotFound,
  SessionStore,
  Unauthorized,
  isTerminal,
  parseDatasetRef,
  type Keys,
  type SessionRecord,
} from '../../../shared/index.js';
import type { Redis } from 'ioredis';

/** What a worker token's request looks like here: the raw method and URL (query included). */
export interface WorkerRequest {
  method?: string | undefined;
  url?: string | undefined;
}

/**
 * A session's worker token (`smw_…`) acts for that session only, and only while it runs: it may
 * read its own dataset version, report its own events, read its own model and add a generation
 * to it, and nothing else (no other dataset, no deletion, no new session, no inference, no
 * WebSocket). Once the session has ended the token is refused everywhere.
 */
export interface WorkerScope {
  /** Throws 401 once the session has ended (or does not exist), 403 outside its routes. */
  check(sessionId: string, req: WorkerRequest): Promise<void>;
}

export interface WorkerScopeOptions {
  /**
   * How long a session's record is reused, in ms: how late a token is refused after its session
   * ended. Never more than a second. @defaultValue 1000
   */
  cacheMs?: number;
}

const MAX_CACHED = 10_000;

/** The routes a running session's worker may call, for its session's resources. */
export function workerMayCall(rec: SessionRecord, method: string, path: string): boolean {
  const req = (rec.request ?? {}) as { model?: string; dataset?: string };
  const id = rec.id;
  if (method === 'GET' || method === 'HEAD') {
    if (path === `/api/v1/sessions/${id}` || path === `/api/v1/sessions/${id}/events`) return true;
    if (req.dataset) {
      const ref = parseDatasetRef(req.dataset);
      const version = `/api/v1/datasets/${ref.name}/versions/${ref.version ?? ''}`;
      if (ref.version !== undefined && (path === version || path.startsWith(`${version}/`)))
        return true;
    }
    if (req.model) {
      const model = `/api/v1/models/${req.model}`;
      if (path === model || path.startsWith(`${model}/`)) return true;
    }
    return false;
  }
  if (method === 'POST') {
    if (path === `/api/v1/sessions/${id}/events`) return true;
    if (rec.kind === 'train' && req.model && path === `/api/v1/models/${req.model}/generations`)
      return true;
  }
  return false;
}

export function createWorkerScope(
  redis: Redis,
  keys: Keys,
  opts: WorkerScopeOptions = {},
): WorkerScope {
  const sessions = new SessionStore(redis, keys);
  const cacheMs = Math.min(opts.cacheMs ?? 1_000, 1_000);
  const cache = new Map<string, { rec: SessionRecord | null; at: number }>();
  const lookup = async (id: string): Promise<SessionRecord | null> => {
    const now = Date.now();
    const hit = cache.get(id);
    if (hit && now - hit.at < cacheMs) return hit.rec;
    const rec = await sessions.get(id).catch((err: unknown) => {
      if (err instanceof NotFound) return null;
      throw err;
    });
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(id, { rec, at: now });
    return rec;
  };
  return {
    async check(sessionId, req) {
      const rec = await lookup(sessionId);
      if (!rec) throw new Unauthorized(`worker token of session ${sessionId}: no such session`);
      if (isTerminal(rec.state)) {
        throw new Unauthorized(
          `worker token of session ${sessionId}: the session has ended (${rec.state})`,
        );
      }
      const method = (req.method ?? '').toUpperCase();
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!req.url || !workerMayCall(rec, method, path)) {
        throw new Forbidden(
          `a worker token acts only for its session ${sessionId}: its events, its dataset version, its model`,
          { session: sessionId },
        );
      }
    },
  };
}
