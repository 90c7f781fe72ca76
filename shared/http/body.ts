/** Reading request bodies under a byte limit: 413 before reading when the length is declared. */
import type { IncomingMessage } from 'node:http';
import { BadInput, PayloadTooLarge } from '../errors.js';
import { ByteLimit } from './byte-limit.js';
import { excerpt } from './error-reply.js';
import { checkJsonDepth } from './json-depth.js';

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

/**
 * The whole body, at most `limitBytes` of it. A chunked body is cut at the limit: reading
 * stops and the promise rejects with PayloadTooLarge; the caller's error path (sendError)
 * answers 413 and drains the rest, so the client gets to read the answer.
 */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  checkDeclaredLength(req, limitBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        reject(
          new PayloadTooLarge(`body exceeds the limit of ${limitBytes} bytes`, { limitBytes }),
        );
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
    req.once('aborted', () => reject(new BadInput('request aborted by the client')));
  });
}

/**
 * JSON text → value; a 400 that quotes only the parser's short message, or that says the
 * text nests deeper than MAX_JSON_DEPTH.
 */
export function parseJson(text: string, what = 'body'): unknown {
  checkJsonDepth(text, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadInput(`${what} is not valid JSON: ${excerpt((err as Error).message, 120)}`);
  }
}

export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  return parseJson((await readBody(req, limitBytes)).toString('utf8'));
}
