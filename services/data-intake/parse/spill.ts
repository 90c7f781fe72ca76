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
  /** Keeps a block (not copied: the caller must not use its buffer any more). */
  add(block: Uint8Array): void;
  /** Moves held blocks to disk once they exceed the memory limit. Call between input chunks. */
  flush(): Promise<void>;
  /**
   * A block of exactly `byteLength` bytes that is already on disk, for the caller to fill
   * again instead of allocating (its contents are stale); undefined when there is none.
   */
  reuse(byteLength: number): Uint8Array | undefined;
  /**
   * The blocks in the order added, each 4-byte aligned. A block is valid until the next one
   * is requested (blocks read from disk share one buffer).
   */
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

/** Written blocks kept for `reuse`. */
const KEEP_WRITTEN = 2;

export function createBlockSpill(opts: SpillOptions): BlockSpill {
  const limit = opts.memoryLimitBytes ?? 64 * 1024 * 1024;
  const path = join(opts.dir, `spill-${randomUUID()}.bin`);
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  // Written blocks, handed back by `reuse`: a fresh megabyte costs page faults and GC work.
  let written: Uint8Array[] = [];
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
    // A block owns its buffer (see `add`), however much of it the block used. A writer
    // fills one block at a time, so a couple are plenty; more would only be held memory.
    written = parts.filter((p, i) => i % 2 === 1 && p.byteOffset === 0).slice(-KEEP_WRITTEN);
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
    reuse(byteLength) {
      const i = written.findIndex((b) => b.buffer.byteLength === byteLength);
      return i < 0 ? undefined : new Uint8Array(written.splice(i, 1)[0]!.buffer, 0, byteLength);
    },
    async flush() {
      // Once anything is on disk, later blocks follow it there so memory stays flat.
      if (heldBytes > limit || (file && heldBytes > 0)) await writeHeld();
    },
    async *read() {
      if (file) {
        written = [];
        const len = Buffer.alloc(4);
        let buf = new Uint8Array(0);
        let pos = 0;
        while (pos < fileBytes) {
          await readFully(file, len, pos);
          const n = len.readUInt32LE(0);
          if (buf.byteLength < n) buf = new Uint8Array(n);
          const block = buf.subarray(0, n);
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
      written = [];
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
