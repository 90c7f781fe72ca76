/** The few HTTP helpers the lean node:http server needs: bounded body reads, JSON replies, error mapping. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { AppError, BadInput, PayloadTooLarge } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/index.js';

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) {
    req.resume();
    return Promise.reject(
      new PayloadTooLarge(`body of ${declared} bytes exceeds the limit of ${limitBytes}`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) {
        reject(new PayloadTooLarge(`body exceeds the limit of ${limitBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseJson(text: string, what = 'body'): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadInput(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

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
 * Maps an error to the protocols' shape `{error: "<message>"}` (both KServe and TF Serving
 * clients read `error` as a string), plus `code` for our own clients. Returns the status.
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger): number {
  let status: number;
  let body: Record<string, unknown>;
  if (err instanceof AppError) {
    status = err.status;
    body = {
      error: err.message,
      code: err.code,
      ...(err.details === undefined ? {} : { details: err.details }),
    };
  } else if (err instanceof ZodError) {
    status = 400;
    const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    body = {
      error: `bad request: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`,
      code: 'BAD_INPUT',
      issues,
    };
  } else {
    status = 500;
    const errorId = randomUUID();
    log.error({ err, errorId }, 'unexpected error');
    body = { error: `internal error (errorId ${errorId})`, code: 'INTERNAL', errorId };
  }
  if (!res.headersSent) sendJson(res, status, body);
  else res.destroy();
  return status;
}
