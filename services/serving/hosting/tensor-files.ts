/**
 * Large tensors between serving and a model process, through files in shared memory.
 *
 * Processes cannot share a `SharedArrayBuffer`, and Node has no mmap. A file on a tmpfs
 * (`/dev/shm`) is the nearest thing: `pwrite` on one side and `pread` on the other are a
 * memcpy and a syscall each. For PaddleOCR's sizes (180 KB in, 1 MB out), one round trip to
 * a child process took (scripts/bench/serving/process-transports.ts):
 * - IPC with V8 serialisation: 2.2 ms, and 1.3 ms of serving's CPU;
 * - length-framed bytes over a socketpair: 1.4 ms;
 * - a tmpfs file with a small IPC message as the doorbell: 0.5 ms, and 0.3 ms of CPU.
 *
 * Each call in flight to a model process holds one slot file, made by the serving side
 * the first time that slot is needed. The model process answers through the same file
 * once it has read the inputs. Below `FILE_MIN_BYTES`, tensors still travel inside the IPC
 * message, where two syscalls more would cost more than they save. A file that cannot be
 * written, for example a full `/dev/shm`, sends that call inline instead.
 *
 * Used by both ends, so it imports nothing heavy.
 */
import {
  closeSync,
  constants,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ELEM, type ElemType, type TensorMap } from '../tensors/tensors.js';

/** A run's tensors at or above this many bytes go through its slot file. */
export const FILE_MIN_BYTES = 64 * 1024;

/** Where one tensor's bytes lie in a slot file. */
export interface FileTensor {
  type: ElemType;
  dims: number[];
  offset: number;
  bytes: number;
}
export type FileTensors = Record<string, FileTensor>;

export function tensorBytes(tensors: TensorMap): number {
  let n = 0;
  for (const t of Object.values(tensors)) n += t.data.byteLength;
  return n;
}

/** Writes the tensors one after another from the file's start; throws when it cannot. */
export function writeTensors(fd: number, tensors: TensorMap): FileTensors {
  const out: FileTensors = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    let done = 0;
    while (done < bytes.length)
      done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
    out[name] = { type: t.type, dims: t.dims, offset, bytes: bytes.length };
    offset += bytes.length;
  }
  return out;
}

/** Reads tensors written by writeTensors, each into an array of its own. */
export function readTensors(fd: number, files: FileTensors): TensorMap {
  const out: TensorMap = {};
  for (const [name, f] of Object.entries(files)) {
    const buffer = new ArrayBuffer(f.bytes);
    const bytes = new Uint8Array(buffer);
    let done = 0;
    while (done < f.bytes) {
      const n = readSync(fd, bytes, done, f.bytes - done, f.offset + done);
      if (n === 0) throw new Error(`slot file ended at ${f.offset + done} of tensor "${name}"`);
      done += n;
    }
    out[name] = { type: f.type, dims: f.dims, data: ELEM[f.type].make(buffer) };
  }
  return out;
}

const PREFIX = 'swarmml-tensors-';
/** Never through a link: /dev/shm is writable by every user of the machine. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** A new slot file of our own; one left under the same name (a reused pid) is replaced. */
function createFile(path: string): number {
  try {
    return openSync(path, CREATE, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(path);
    return openSync(path, CREATE, 0o600);
  }
}

/** `/dev/shm` where there is one (Linux, containers), else the temp dir (the page cache). */
export function tensorFileDir(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // not Linux, or no tmpfs there
  }
  return tmpdir();
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes slot files of serving processes that are gone (a SIGKILL leaves its files). */
export function sweepStaleTensorFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // another replica swept it first
    }
  }
}

let links = 0;
let swept = false;

/** The serving side's slot files for one model process; all removed when it is closed. */
export class SlotFiles {
  private readonly fds: number[] = [];
  /** each slot's path, made once: every run to the process names its slot */
  private readonly paths: string[] = [];
  private readonly free: number[] = [];
  private readonly tag: string;
  private closed = false;

  constructor(private readonly dir = tensorFileDir()) {
    if (!swept) {
      swept = true;
      sweepStaleTensorFiles(dir);
    }
    this.tag = `${PREFIX}${process.pid}-${++links}`;
  }

  /** A free slot, its file made on first use; undefined when no file can be made. */
  take(): number | undefined {
    if (this.closed) return undefined;
    const index = this.free.pop();
    if (index !== undefined) return index;
    const path = this.nameOf(this.fds.length);
    try {
      this.fds.push(createFile(path));
    } catch {
      return undefined;
    }
    this.paths.push(path);
    return this.fds.length - 1;
  }

  release(index: number): void {
    if (!this.closed) this.free.push(index);
  }

  path(index: number): string {
    // A slot not made yet is named too: where it will be made.
    return this.paths[index] ?? this.nameOf(index);
  }

  private nameOf(index: number): string {
    return join(this.dir, `${this.tag}-${index}`);
  }

  fd(index: number): number {
    return this.fds[index]!;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fds.forEach((fd, i) => {
      closeSync(fd);
      try {
        unlinkSync(this.path(i));
      } catch {
        // already gone
      }
    });
  }
}

/** The model process's side: each slot file opened once, by the path serving sent. */
const opened = new Map<string, number>();
export function slotFd(path: string): number {
  let fd = opened.get(path);
  if (fd === undefined) {
    fd = openSync(path, constants.O_RDWR | NOFOLLOW);
    opened.set(path, fd);
  }
  return fd;
}

/** What a run message to a model process carries besides ToWorker's `run`. */
export interface RunFileFields {
  /** the call's slot file: the answer may come back through it */
  file?: string;
  /** inputs in the slot file (then `inputs` is empty) */
  fileInputs?: FileTensors;
}

/** An answer whose outputs are in the call's slot file. */
export interface FileReply {
  t: 'ok';
  id: number;
  fileOutputs: FileTensors;
}

export const isFileReply = (m: unknown): m is FileReply =>
  typeof m === 'object' && m !== null && 'fileOutputs' in m;
