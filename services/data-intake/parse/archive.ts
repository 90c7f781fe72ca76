import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { AppError, BadInput } from '../../../shared/index.js';
import { entryError } from './bad-input.js';
import { isTar, isZip } from './detect.js';

/** One member of a tar or zip. Read or skip it before asking for the next. */
export interface ArchiveEntry {
  name: string;
  isFile: boolean;
  open(): Promise<AsyncIterable<Uint8Array>>;
}

/**
 * Rejects names that would escape an extraction folder. Nothing here writes entries under
 * their own names, but a hostile archive is refused outright rather than half-imported.
 */
export function checkEntryPath(name: string): void {
  const parts = name.split(/[\\/]+/);
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || parts.includes('..')) {
    throw entryError(name, 'path traversal in archive entry');
  }
}

/** Entries of a tar (streamed) or zip (spooled to `tmpDir` first: its index is at the end). */
export async function* archiveEntries(
  source: AsyncIterable<Buffer>,
  head: Buffer,
  tmpDir: string,
): AsyncGenerator<ArchiveEntry> {
  if (isZip(head)) {
    const path = join(tmpDir, 'upload.zip');
    await pipeline(Readable.from(source), createWriteStream(path));
    yield* zipEntries(path);
  } else if (isTar(head)) {
    yield* tarEntries(source);
  } else {
    throw new BadInput('expected a tar or zip archive', { reason: 'not an archive' });
  }
}

async function* tarEntries(source: AsyncIterable<Buffer>): AsyncGenerator<ArchiveEntry> {
  const extract = tar.extract();
  const input = Readable.from(source);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      const type = entry.header.type;
      checkEntryPath(name);
      let done = false;
      async function* body(): AsyncGenerator<Uint8Array> {
        for await (const c of entry) yield c as Uint8Array;
        done = true;
      }
      yield {
        name,
        isFile: type === 'file' || type === 'contiguous-file',
        open: async () => body(),
      };
      // tar is sequential: an unread entry must be drained before the next header.
      if (!done) for await (const _ of entry);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new BadInput(`corrupt tar archive: ${(err as Error).message}`, { reason: 'corrupt tar' });
  } finally {
    input.destroy();
  }
}

const YAUZL_PATH_ERROR =
  /^(invalid relative path|absolute path|invalid characters in fileName): (.*)$/;

async function* zipEntries(path: string): AsyncGenerator<ArchiveEntry> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, z) =>
      err ? reject(zipError(err)) : resolve(z),
    ),
  );
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let next: yauzl.Entry | null | undefined;
  zip.on('entry', (e: yauzl.Entry) => {
    next = e;
    wake?.();
  });
  zip.on('end', () => {
    next = null;
    wake?.();
  });
  // A permanent listener: yauzl may report an error while no read is pending.
  zip.on('error', (err: Error) => {
    failure = err;
    wake?.();
  });
  try {
    for (;;) {
      next = undefined;
      const got = new Promise<void>((r) => (wake = r));
      zip.readEntry();
      await got;
      if (failure) throw zipError(failure);
      const entry = next as yauzl.Entry | null | undefined;
      if (!entry) return;
      checkEntryPath(entry.fileName);
      yield {
        name: entry.fileName,
        isFile: !entry.fileName.endsWith('/'),
        open: () =>
          new Promise<AsyncIterable<Uint8Array>>((resolve, reject) =>
            zip.openReadStream(entry, (err, s) => (err ? reject(zipError(err)) : resolve(s))),
          ),
      };
    }
  } finally {
    zip.close();
  }
}

function zipError(err: Error): AppError {
  const m = YAUZL_PATH_ERROR.exec(err.message);
  if (m) return entryError(m[2]!, 'path traversal in archive entry');
  return new BadInput(`corrupt zip archive: ${err.message}`, { reason: 'corrupt zip' });
}

/** Reads a whole entry into memory, refusing more than `limit` bytes. */
export async function readEntry(entry: ArchiveEntry, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of await entry.open()) {
    n += c.byteLength;
    if (n > limit) throw entryError(entry.name, `entry larger than ${limit} bytes`);
    parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return Buffer.concat(parts);
}
