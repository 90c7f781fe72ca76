/**
 * A started model worker as the supervisor sees it, whichever way it is hosted: a child
 * process (IPC over a pipe), a worker thread in this process (shared memory), or serving's own
 * thread (inline-link.ts: calls). The supervisor
 * sends ToWorker requests, gets FromWorker answers, and learns when the worker is gone.
 */
import type { ChildProcess } from 'node:child_process';
import type { ToWorker } from './protocol.js';
import {
  FILE_MIN_BYTES,
  isFileReply,
  readTensors,
  SlotFiles,
  tensorBytes,
  writeTensors,
  type RunFileFields,
} from './tensor-files.js';

export type HostingMode = 'process' | 'thread' | 'inline';

export interface WorkerLink {
  readonly mode: HostingMode;
  /** the process id, or this process's id for a thread */
  readonly pid: number | undefined;
  /** the worker thread's id (threads only) */
  readonly threadId?: number;
  /** false once the worker exited or its channel closed */
  readonly open: boolean;
  /** sends a request; `sent` gets an error when it could not be handed over (the worker is gone) */
  send(msg: ToWorker, sent: (err: Error | null) => void): void;
  /**
   * every answer from the worker: a message as it came (`built` false: validate it), or one the
   * link built itself from a shared-memory answer (`built` true: a FromWorker already)
   */
  onMessage(cb: (msg: unknown, built: boolean) => void): void;
  /** once, when the worker is gone; `how` says why (a signal, an exit code, an error) */
  onExit(cb: (how: string) => void): void;
  /** errors the worker reports that are not answers (logged) */
  onError(cb: (err: Error) => void): void;
  /** stops the worker: politely, then for good after a grace period */
  stop(graceMs: number): Promise<void>;
  /** stops it at once (an idle spare, a worker started after close) */
  kill(): void;
}

/**
 * A model process: a forked model-worker with an IPC channel. Large tensors of a run go
 * through a slot file in shared memory instead of the channel (tensor-files.ts).
 */
export class ProcessLink implements WorkerLink {
  readonly mode = 'process' as const;
  /** the slot file of each run in flight, by call id */
  private readonly slotOf = new Map<number, number>();

  constructor(
    private readonly child: ChildProcess,
    private readonly files = new SlotFiles(),
  ) {
    child.once('exit', () => files.close());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get open(): boolean {
    return this.child.connected && this.exited === false;
  }

  private get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  send(msg: ToWorker, sent: (err: Error | null) => void): void {
    if (!this.child.connected) {
      sent(new Error('its channel closed'));
      return;
    }
    const wire = msg.t === 'run' ? this.throughFile(msg) : msg;
    this.child.send(wire, (err) => {
      if (err) this.release(msg.id);
      sent(err ?? null);
    });
  }

  onMessage(cb: (msg: unknown, built: boolean) => void): void {
    this.child.on('message', (msg: unknown) => {
      const id = (msg as { id?: unknown } | null)?.id;
      const slot = typeof id === 'number' ? this.slotOf.get(id) : undefined;
      if (slot === undefined) {
        cb(msg, false);
        return;
      }
      let answer = msg;
      if (isFileReply(msg)) {
        try {
          answer = {
            t: 'ok',
            id: msg.id,
            outputs: readTensors(this.files.fd(slot), msg.fileOutputs),
          };
        } catch (err) {
          const message = `answer lost in its slot file: ${(err as Error).message}`;
          answer = { t: 'fail', id: msg.id, error: { name: 'Error', code: 'INTERNAL', message } };
        }
      }
      this.release(id as number);
      cb(answer, false);
    });
  }

  /** The run as sent: with its slot file named, and its inputs in it when they are large. */
  private throughFile(msg: Extract<ToWorker, { t: 'run' }>): ToWorker & RunFileFields {
    const slot = this.files.take();
    if (slot === undefined) return msg;
    this.slotOf.set(msg.id, slot);
    const file = this.files.path(slot);
    if (tensorBytes(msg.inputs) < FILE_MIN_BYTES) return { ...msg, file };
    try {
      const fileInputs = writeTensors(this.files.fd(slot), msg.inputs);
      return { ...msg, inputs: {}, file, fileInputs };
    } catch {
      return { ...msg, file }; // no room in shared memory: the inputs go inline
    }
  }

  private release(id: number): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.files.release(slot);
  }

  onExit(cb: (how: string) => void): void {
    this.child.once('exit', (code, signal) => cb(signal ?? `code ${code}`));
  }

  onError(cb: (err: Error) => void): void {
    this.child.on('error', cb);
  }

  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
