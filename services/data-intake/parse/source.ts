import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError, BadInput, PayloadTooLarge } from '../../../shared/index.js';

/** What the parsers accept: a Node stream or any async iterable of byte chunks. */
export type ByteSource = Readable | AsyncIterable<Uint8Array | string>;

export async function* toChunks(input: ByteSource): AsyncGenerator<Buffer> {
  for await (const c of input as AsyncIterable<Uint8Array | string>) {
    if (typeof c === 'string') yield Buffer.from(c);
    else if (Buffer.isBuffer(c)) yield c;
    else yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
}

/**
 * Reads at least `n` bytes (fewer only at the end of input) without losing them:
 * `rest` yields the whole input again from the start.
 */
export async function peek(
  source: AsyncIterable<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(seen);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // Stopping early (a parse error) must release the underlying stream.
      if (!done) await it.return?.();
    }
  }
  return { head, rest: rest() };
}

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * How far gzip may expand an upload: this many times its compressed size, once past the
 * first MAX_GZIP_RATIO_FREE_BYTES (a small file's header and dictionary warm-up inflate more).
 * Text datasets compress 3:1 to 20:1; a decompression bomb does 1000:1.
 */
export const MAX_GZIP_RATIO = 100;
export const MAX_GZIP_RATIO_FREE_BYTES = 1024 * 1024;

export interface GunzipLimits {
  /** decompressed bytes at most @defaultValue unlimited */
  maxBytes?: number;
  /** @defaultValue MAX_GZIP_RATIO */
  maxRatio?: number;
}

/**
 * Decompresses gzip (multi-member too); a corrupt or truncated stream becomes `BadInput`,
 * one that decompresses past `maxBytes` or expands more than `maxRatio`:1 `PayloadTooLarge`
 * (found as the bytes come out, so a bomb is stopped after a few MB, not after filling memory
 * or the disk).
 */
export async function* gunzip(
  source: AsyncIterable<Buffer>,
  limits: GunzipLimits = {},
): AsyncGenerator<Buffer> {
  const maxBytes = limits.maxBytes ?? Infinity;
  const maxRatio = limits.maxRatio ?? MAX_GZIP_RATIO;
  const z = createGunzip();
  const input = Readable.from(source);
  input.on('error', (err) => z.destroy(err));
  input.pipe(z);
  let out = 0;
  try {
    for await (const c of z) {
      out += (c as Buffer).length;
      // What the engine has inflated so far, not what the pipe has read ahead.
      const compressed = z.bytesWritten;
      if (out > maxBytes) {
        throw new PayloadTooLarge(
          `gzip upload decompresses to more than the limit of ${maxBytes} bytes`,
          { reason: 'decompressed too large', limitBytes: maxBytes },
        );
      }
      if (out > MAX_GZIP_RATIO_FREE_BYTES && out > maxRatio * compressed) {
        throw new PayloadTooLarge(
          `gzip upload expands more than ${maxRatio}:1 (${out} bytes from ${compressed}): refused as a decompression bomb`,
          { reason: 'compression ratio', maxRatio },
        );
      }
      yield c as Buffer;
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new BadInput(`corrupt gzip data: ${reason}`, { reason: 'corrupt gzip' });
  } finally {
    input.destroy();
    z.destroy();
  }
}

/** Exact-length reads over a chunk stream (for binary formats such as IDX). */
export interface ByteReader {
  /** Exactly `n` bytes, or fewer only when the input ends first. */
  read(n: number): Promise<Buffer>;
  /** Stops reading the source early. */
  close(): Promise<void>;
}

export function createByteReader(source: AsyncIterable<Buffer>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let done = false;
  return {
    async read(n) {
      const parts: Buffer[] = [];
      let have = 0;
      while (have < n) {
        if (pending.length === 0) {
          if (done) break;
          const r = await it.next();
          if (r.done) {
            done = true;
            break;
          }
          pending = r.value;
          continue;
        }
        const take = Math.min(n - have, pending.length);
        parts.push(pending.subarray(0, take));
        pending = pending.subarray(take);
        have += take;
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    },
    async close() {
      if (done) return;
      done = true;
      await it.return?.();
    },
  };
}
