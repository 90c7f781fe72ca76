/**
 * The one place an error becomes an HTTP (or WebSocket) answer; docs/errors.md lists the codes.
 * Every service's node:http router, the gateway's express error middleware, the inference
 * proxy and the WebSocket hubs go through toErrorReply.
 */
import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { AppError } from '../errors.js';
import type { Logger } from '../runtime/logger.js';
import { DEPENDENCY_RETRY_AFTER_S, dependencyDown } from './dependency-down.js';

/**
 * `api`: `{error: CODE, message, details?, issues?, errorId?}` (management APIs).
 * `protocol`: `{error: "<message>", code, ...}`, as KServe v2 and TF Serving clients read
 * `error` as a string.
 */
export type ErrorShape = 'api' | 'protocol';

export interface ErrorReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Messages can quote what a client sent (a name, a path): only this much of it comes back. */
const MAX_MESSAGE_CHARS = 300;
const MAX_ISSUES = 20;

/** At most `max` characters of `text`, marked where cut. */
export function excerpt(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

interface Classified {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  issues?: { path: string; message: string }[];
  errorId?: string;
  headers: Record<string, string>;
}

function classify(err: unknown, log: Logger): Classified {
  if (err instanceof ZodError) {
    const issues = err.issues.slice(0, MAX_ISSUES).map((i) => ({
      path: excerpt(i.path.map(String).join('.'), 100),
      message: excerpt(i.message, 200),
    }));
    const first = issues[0];
    const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : '';
    return {
      status: 400,
      code: 'BAD_INPUT',
      message: first ? `${first.path || '(body)'}: ${first.message}${more}` : 'invalid input',
      issues,
      headers: {},
    };
  }
  if (err instanceof AppError) {
    // TooManyRequests, and an Unavailable that knows when to come back, say when to retry.
    const retryAfterS = (err as { retryAfterS?: unknown }).retryAfterS;
    return {
      status: err.status,
      code: err.code,
      message: excerpt(err.message),
      ...(err.details === undefined ? {} : { details: err.details }),
      headers: typeof retryAfterS === 'number' ? { 'retry-after': String(retryAfterS) } : {},
    };
  }
  // body-parser and raw-body errors carry a 4xx status: the client's fault, not a bug.
  const e = err as { status?: unknown; message?: unknown } | null;
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return {
      status: e.status,
      code: e.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT',
      message: excerpt(typeof e.message === 'string' ? e.message : 'bad request'),
      headers: {},
    };
  }
  const down = dependencyDown(err);
  if (down) {
    log.warn({ err: (err as Error | null)?.message }, `dependency down: ${down}`);
    return {
      status: 503,
      code: 'UNAVAILABLE',
      message: `${down}; retry shortly`,
      headers: { 'retry-after': String(DEPENDENCY_RETRY_AFTER_S) },
    };
  }
  const errorId = randomUUID();
  log.error({ err, errorId }, 'unhandled error');
  return { status: 500, code: 'INTERNAL', message: 'internal error', errorId, headers: {} };
}

/**
 * Maps any error to a status and JSON body: AppError → its status and code; ZodError → 400
 * with the issues' paths; anything else → 500 with an errorId, logged with the error.
 */
export function toErrorReply(err: unknown, log: Logger, shape: ErrorShape = 'api'): ErrorReply {
  const c = classify(err, log);
  const rest = {
    ...(c.details === undefined ? {} : { details: c.details }),
    ...(c.issues ? { issues: c.issues } : {}),
    ...(c.errorId ? { errorId: c.errorId } : {}),
  };
  if (shape === 'api') {
    return {
      status: c.status,
      headers: c.headers,
      body: { error: c.code, message: c.message, ...rest },
    };
  }
  let message = c.message;
  if (c.issues) message = `bad request: ${message}`;
  if (c.errorId) message = `internal error (errorId ${c.errorId})`;
  return { status: c.status, headers: c.headers, body: { error: message, code: c.code, ...rest } };
}

/** The same mapping for a WebSocket reply's `error`: `{code, message, details?}`. */
export function toWsError(
  err: unknown,
  log: Logger,
): { code: string; message: string; details?: unknown } {
  const c = classify(err, log);
  const details = c.issues ?? c.details ?? (c.errorId ? { errorId: c.errorId } : undefined);
  return { code: c.code, message: c.message, ...(details === undefined ? {} : { details }) };
}
