/**
 * A started model worker as the supervisor sees it, whichever way it is hosted: a child
 * process (IPC over a pipe) or a worker thread in this process (shared memory). The supervisor
 * sends ToWorker requests, gets FromWorker answers, and learns when the worker is gone.
 */
import type { ChildProcess } from 'node:child_process';
import type { ToWorker } from './protocol.js';

export type HostingMode = 'process' | 'thread';

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

/** A model process: a forked model-worker with an IPC channel. */
export class ProcessLink implements WorkerLink {
  readonly mode = 'process' as const;

  constructor(private readonly child: ChildProcess) {}

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
    this.child.send(msg, (err) => sent(err ?? null));
  }

  onMessage(cb: (msg: unknown, built: boolean) => void): void {
    this.child.on('message', (msg) => cb(msg, false));
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
