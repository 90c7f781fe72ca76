/**
 * HTTP compression on the inference routes: request bodies sent with `Content-Encoding: gzip`
 * or `deflate` (Triton's clients do, when asked) and answers gzip'ed for clients that accept
 * it. The body limit applies to what the body inflates to, measured by zlib as it inflates
 * (`maxOutputLength`), so a small bomb is refused with a 413 before it takes the memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { BadInput, PayloadTooLarge, UnsupportedMediaType } from '../errors.js';
import { readBody } from './body.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const gzip = promisify(zlib.gzip);

/** Answers smaller than this go out as they are: gzip's header and CPU cost outweigh it. */
export const COMPRESS_MIN_BYTES = 1024;

type Coding = 'identity' | 'gzip' | 'deflate';

/** The request's content coding; several codings stacked, or an unknown one, is a 415. */
export function contentCoding(req: IncomingMessage): Coding {
  const raw = req.headers['content-encoding'];
  if (raw === undefined) return 'identity';
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  throw new UnsupportedMediaType(
    `Content-Encoding "${raw.slice(0, 40)}" is not supported; send gzip, deflate or identity`,
    { supported: ['gzip', 'deflate', 'identity'] },
  );
}

/**
 * HTTP's `deflate` is a zlib stream (RFC 1950), but some clients send raw deflate
 * (RFC 1951); a zlib header is two bytes whose big-endian value is a multiple of 31, with
 * compression method 8.
 */
function isZlibStream(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}

/** `body` inflated as `coding` says, at most `limitBytes` of it. */
export async function decodeBody(
  body: Buffer,
  coding: Coding,
  limitBytes: number,
): Promise<Buffer> {
  if (coding === 'identity' || body.length === 0) return body;
  const opts = { maxOutputLength: limitBytes };
  try {
    if (coding === 'gzip') return await gunzip(body, opts);
    return await (isZlibStream(body) ? inflate(body, opts) : inflateRaw(body, opts));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new PayloadTooLarge(
        `body inflates past the limit of ${limitBytes} bytes (Content-Encoding: ${coding})`,
        { limitBytes, reason: 'decompressed size' },
      );
    }
    // zlib's own message only: the bytes themselves are never echoed
    throw new BadInput(`body is not valid ${coding} data: ${e.code ?? 'corrupt stream'}`);
  }
}

/**
 * The whole request body, inflated when it came compressed. Both the bytes on the wire and
 * the inflated bytes are held to `limitBytes`.
 */
export async function readDecodedBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const coding = contentCoding(req);
  return decodeBody(await readBody(req, limitBytes), coding, limitBytes);
}

/** Whether the client accepts gzip (`Accept-Encoding`, q=0 excluded). */
export function acceptsGzip(req: IncomingMessage): boolean {
  const raw = req.headers['accept-encoding'];
  if (!raw) return false;
  for (const part of raw.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Sends `body` with status 200, gzip'ed when the client accepts it and it is over
 * COMPRESS_MIN_BYTES. Headers that describe the uncompressed body (Triton's
 * `Inference-Header-Content-Length`) keep their meaning: they count the inflated bytes.
 * A body in parts (a JSON header, then binary tensors) is written part by part in one
 * corked write, not joined first, unless it is compressed: joining a 1 MB tensor answer
 * was a copy and an allocation per request.
 */
export async function sendMaybeCompressed(
  req: IncomingMessage,
  res: ServerResponse,
  body: string | Buffer | readonly Uint8Array[],
  headers: Record<string, string | number> = {},
): Promise<void> {
  const parts = typeof body === 'string' || Buffer.isBuffer(body) ? undefined : body;
  const size = parts
    ? parts.reduce((n, p) => n + p.byteLength, 0)
    : Buffer.byteLength(body as string | Buffer);
  let out: string | Buffer | undefined;
  const extra: Record<string, string> = {};
  if (size > COMPRESS_MIN_BYTES) {
    extra.vary = 'accept-encoding';
    if (acceptsGzip(req)) {
      // level 1: a few times faster than the default for a small loss of ratio, on a hot path
      out = await gzip(parts ? Buffer.concat(parts) : (body as string | Buffer), { level: 1 });
      extra['content-encoding'] = 'gzip';
    }
  }
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': out === undefined ? size : out.length,
    ...headers,
    ...extra,
  });
  if (out !== undefined || !parts) {
    res.end(out ?? body);
    return;
  }
  res.cork();
  for (const p of parts) res.write(p);
  res.end();
  res.uncork();
}
