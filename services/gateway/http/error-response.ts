import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { AppError, TooManyRequests, type Logger } from '../../../shared/index.js';

export interface ErrorResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * The one place errors become HTTP responses (docs/errors.md lists the codes).
 * Zod issues keep their path so a client can see where its input went wrong.
 */
export function toErrorResponse(err: unknown, log: Logger): ErrorResponse {
  if (err instanceof ZodError) {
    const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    return {
      status: 400,
      body: {
        error: 'BAD_INPUT',
        message: first ? `${first.path || '(body)'}: ${first.message}` : 'invalid input',
        issues,
      },
      headers: {},
    };
  }
  if (err instanceof AppError) {
    const headers: Record<string, string> = {};
    if (err instanceof TooManyRequests) headers['retry-after'] = String(err.retryAfterS);
    return {
      status: err.status,
      body: {
        error: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
      },
      headers,
    };
  }
  // body-parser and raw-body errors carry a status and a type; they are client errors.
  const e = err as { status?: number; type?: string; message?: string };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = e.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT';
    return {
      status: e.status,
      body: { error: code, message: e.message ?? 'bad request' },
      headers: {},
    };
  }
  const errorId = randomUUID();
  log.error({ err, errorId }, 'unhandled error');
  return {
    status: 500,
    body: { error: 'INTERNAL', message: 'internal error', errorId },
    headers: {},
  };
}
