/** Writing answers on a plain node:http response (express's Response is one too). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../runtime/logger.js';
import { drainRequest } from './byte-limit.js';
import { toErrorReply, type ErrorShape } from './error-reply.js';

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string | number> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value));
}

/**
 * Answers `err` through toErrorReply and returns the status. A request whose body was not
 * read to the end (a 413, a parser that stopped at a bad line) is answered first, with
 * `connection: close`, and the rest of its body is then discarded so the client can read
 * the answer. Once the headers went out, the connection is cut instead.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  log: Logger,
  shape: ErrorShape = 'api',
): number {
  const reply = toErrorReply(err, log, shape);
  if (res.headersSent) {
    res.destroy();
    return reply.status;
  }
  const early = !req.complete;
  send(res, reply.status, JSON.stringify(reply.body), {
    ...reply.headers,
    ...(early ? { connection: 'close' } : {}),
  });
  if (early) drainRequest(req);
  return reply.status;
}
