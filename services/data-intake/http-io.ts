/** The HTTP plumbing of the intake's plain node:http server: replies, errors, body limits. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { AppError, BadInput, ByteLimit, PayloadTooLarge, type Logger } from '../../shared/index.js';

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Same body shape as the gateway's error mapping, so the gateway can pass answers through. */
export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof ZodError) {
    const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    sendJson(res, 400, {
      error: 'BAD_INPUT',
      message: first ? `${first.path || '(body)'}: ${first.message}` : 'invalid input',
      issues,
    });
    return;
  }
  if (err instanceof AppError) {
    sendJson(res, err.status, {
      error: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
    });
    return;
  }
  const errorId = randomUUID();
  log.error({ err, errorId }, 'unhandled error');
  sendJson(res, 500, { error: 'INTERNAL', message: 'internal error', errorId });
}

/** Rejects a declared body over the limit before reading any of it. */
export function checkDeclaredLength(req: IncomingMessage, limitBytes: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) {
    throw new PayloadTooLarge(`body of ${declared} bytes exceeds the limit of ${limitBytes}`, {
      limitBytes,
    });
  }
}

/**
 * The request body as a stream a consumer may abandon early. Reading `req` directly would
 * destroy the socket when a parser stops at a bad line, and the client would never see
 * the 400; through a pipe, `req` is only unpiped and can be drained afterwards.
 */
export function limitedBody(req: IncomingMessage, limitBytes: number): ByteLimit {
  const limit = new ByteLimit(limitBytes);
  req.on('error', (err) => limit.destroy(err));
  req.on('aborted', () => limit.destroy(new BadInput('upload aborted by the client')));
  req.pipe(limit);
  return limit;
}

export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  checkDeclaredLength(req, limitBytes);
  const chunks: Buffer[] = [];
  for await (const c of limitedBody(req, limitBytes)) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadInput(`body is not valid JSON: ${(err as Error).message}`);
  }
}
