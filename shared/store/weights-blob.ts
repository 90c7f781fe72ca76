import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/** How a blob was cut into chunk keys; stored in the generation hash. */
export interface BlobLayout {
  size: number;
  sha256: string;
  chunks: number;
  chunkSize: number;
}

export interface ChunkWriteOptions {
  /** @defaultValue 4 MiB */
  chunkSize: number;
  /** Chunks expire after this unless the commit step PERSISTs them (seconds). */
  ttlS: number;
  /** SETs in flight at once. @defaultValue 4 */
  window?: number;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/**
 * Writes `data` as chunk keys `keyOf(0..n-1)` with a TTL, so an uploader that dies before
 * its commit leaves nothing behind for long. Chunks are subarrays: no copy is made.
 */
export async function writeChunks(
  redis: Redis,
  keyOf: (i: number) => string,
  data: Buffer,
  opts: ChunkWriteOptions,
): Promise<BlobLayout> {
  const { chunkSize, ttlS } = opts;
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new Error('chunkSize must be > 0');
  const window = opts.window ?? 4;
  const chunks = Math.ceil(data.length / chunkSize);
  // Hashing chunk by chunk while earlier chunks are on the wire overlaps CPU and network.
  const hash = createHash('sha256');
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < chunks; i++) {
    const part = data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize));
    const p = redis.set(keyOf(i), part, 'EX', ttlS).finally(() => inFlight.delete(p));
    // Observed by race/all below; this keeps the others from going unhandled on a failure.
    p.catch(() => {});
    inFlight.add(p);
    hash.update(part);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { size: data.length, sha256: hash.digest('hex'), chunks, chunkSize };
}

/** Reads chunks back into one Buffer and checks size and sha256 against the layout. */
export async function readChunks(
  redis: Redis,
  keyOf: (i: number) => string,
  layout: BlobLayout,
  what: string,
  window = 4,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(layout.size);
  const hash = createHash('sha256');
  let offset = 0;
  const pending: Promise<Buffer | null>[] = [];
  const next = (i: number) => {
    const p = redis.getBuffer(keyOf(i));
    // Awaited in order below; this keeps those after a missing chunk from going unhandled.
    p.catch(() => {});
    pending.push(p);
  };
  for (let i = 0; i < Math.min(window, layout.chunks); i++) next(i);
  for (let i = 0; i < layout.chunks; i++) {
    let chunk: Buffer | null;
    try {
      chunk = await pending[i]!;
    } catch (err) {
      const why = `redis replied "-${(err as Error).message}"`;
      throw new AppError('INTERNAL', `reading chunk ${i} of ${layout.chunks} of ${what}: ${why}`);
    }
    // Free the reference early: a 1 GB blob should not be held twice.
    pending[i] = Promise.resolve(null);
    if (i + window < layout.chunks) next(i + window);
    if (!chunk) throw corrupt(what, `chunk ${i} of ${layout.chunks} is missing`);
    const want = Math.min(layout.chunkSize, layout.size - offset);
    if (chunk.length !== want) {
      throw corrupt(
        what,
        `chunk ${i} of ${layout.chunks} has ${chunk.length} bytes, expected ${want}`,
      );
    }
    chunk.copy(out, offset);
    hash.update(chunk);
    offset += chunk.length;
  }
  if (offset !== layout.size) throw corrupt(what, `read ${offset} bytes, expected ${layout.size}`);
  const sha = hash.digest('hex');
  if (sha !== layout.sha256) throw corrupt(what, `sha256 ${sha} != stored ${layout.sha256}`);
  return out;
}

function corrupt(what: string, why: string): AppError {
  return new AppError('INTERNAL', `stored weights of ${what} are corrupt: ${why}`);
}

export function chunkKeyList(keyOf: (i: number) => string, chunks: number): string[] {
  return Array.from({ length: chunks }, (_, i) => keyOf(i));
}
