import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

/**
 * An append-only sequence of byte blocks for the parsers' first pass: held in memory up to a
 * limit, then written to a temp file, then read back in order for the second pass. This keeps
 * memory bounded whatever the upload size while letting the first pass see every row (for the
 * final feature count and the label mapping) before any batch is emitted.
 */
export interface BlockSpill {
  /** Keeps a block (not copied: the caller must not reuse it). */
  add(block: Uint8Array): void;
  /** Moves held blocks to disk once they exceed the memory limit. Call between input chunks. */
  flush(): Promise<void>;
  /** The blocks in the order added, each in a fresh 4-byte-aligned buffer. */
  read(): AsyncGenerator<Uint8Array>;
  /** Deletes the temp file. Idempotent. */
  close(): Promise<void>;
  readonly bytes: number;
  readonly onDisk: boolean;
}

export interface SpillOptions {
  /** Directory for the temp file. */
  dir: string;
  /** In-memory bytes before spilling to disk. @defaultValue 64 MiB */
  memoryLimitBytes?: number;
}

export function createBlockSpill(opts: SpillOptions): BlockSpill {
  const limit = opts.memoryLimitBytes ?? 64 * 1024 * 1024;
  const path = join(opts.dir, `spill-${randomUUID()}.bin`);
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let total = 0;
  let file: FileHandle | null = null;
  let fileBytes = 0;
  let closed = false;

  async function writeHeld(): Promise<void> {
    file ??= await open(path, 'w+');
    const parts: Uint8Array[] = [];
    for (const b of held) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.byteLength);
      parts.push(len, b);
    }
    held = [];
    heldBytes = 0;
    const n = parts.reduce((s, p) => s + p.byteLength, 0);
    const { bytesWritten } = await file.writev(parts, fileBytes);
    if (bytesWritten !== n) throw new Error(`short write to spill file: ${bytesWritten} of ${n}`);
    fileBytes += n;
  }

  return {
    get bytes() {
      return total;
    },
    get onDisk() {
      return file !== null;
    },
    add(block) {
      held.push(block);
      heldBytes += block.byteLength;
      total += block.byteLength;
    },
    async flush() {
      // Once anything is on disk, later blocks follow it there so memory stays flat.
      if (heldBytes > limit || (file && heldBytes > 0)) await writeHeld();
    },
    async *read() {
      if (file) {
        const len = Buffer.alloc(4);
        let pos = 0;
        while (pos < fileBytes) {
          await readFully(file, len, pos);
          const n = len.readUInt32LE(0);
          const block = new Uint8Array(n);
          await readFully(file, block, pos + 4);
          pos += 4 + n;
          yield block;
        }
      }
      for (const b of held) {
        yield b.byteOffset % 4 === 0 ? b : b.slice();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      held = [];
      if (file) {
        await file.close();
        await rm(path, { force: true });
      }
    },
  };
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < into.byteLength) {
    const { bytesRead } = await fh.read(into, off, into.byteLength - off, position + off);
    if (bytesRead === 0) throw new Error(`spill file ended early at ${position + off}`);
    off += bytesRead;
  }
}
