/**
 * Starts model workers, as processes or as threads. Keeps one warm spare (node, loader and
 * onnxruntime already loaded) so that replacing a crashed worker costs a model load, not a
 * start: under tsx on a busy 2-core box a cold start takes seconds.
 */
import { fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Unavailable, type Logger } from '../../../shared/index.js';
import { startModuleWorker } from '../decoding/module-worker.js';
import { InlineLink } from './inline-link.js';
import { ThreadLink } from './thread-link.js';
import { ProcessLink, type HostingMode, type WorkerLink } from './worker-link.js';

// Keep the current extension so this works from .ts under tsx and from .js after build.
const WORKER = fileURLToPath(
  new URL(`./model-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Node flags for the child: the loader hooks (tsx) yes, the test runner's flags no. */
function childExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect'));
}

/** Forks a model worker process and resolves once it has said hello. */
export function forkWorker(): Promise<WorkerLink> {
  const child = fork(WORKER, [], {
    execArgv: childExecArgv(),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Unavailable(`model process exited at start (${signal ?? code})`));
    child.once('exit', onExit);
    child.once('message', () => {
      child.off('exit', onExit);
      resolve(new ProcessLink(child));
    });
  });
}

/**
 * Starts a model worker thread and resolves once it has said hello. `heapMb` caps its V8 heap:
 * a model that exhausts it ends its thread, not the serving process.
 */
export function startThreadWorker(heapMb: number): Promise<WorkerLink> {
  const bells = new SharedArrayBuffer(8);
  const worker = startModuleWorker(new URL('./model-worker.js', import.meta.url), 'model', {
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
    workerData: { bells },
  });
  const link = new ThreadLink(worker, bells);
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    const onError = (err: Error) => (failure = err);
    const onExit = (code: number) =>
      reject(new Unavailable(`model thread exited at start (${failure?.message ?? code})`));
    worker.on('error', onError);
    worker.once('exit', onExit);
    worker.once('message', () => {
      worker.off('exit', onExit);
      worker.off('error', onError);
      resolve(link);
    });
  });
}

export interface SpawnerOptions {
  keepSpare: boolean;
  log: Logger;
  /** @defaultValue 'process' */
  mode?: HostingMode;
  /** a thread's V8 heap cap @defaultValue 1024 (MB) */
  threadHeapMb?: number;
}

export class WorkerSpawner {
  private spare: Promise<WorkerLink> | undefined;
  private closed = false;

  constructor(private readonly opts: SpawnerOptions) {}

  get mode(): HostingMode {
    return this.opts.mode ?? 'process';
  }

  /** A started model worker: the warm spare when one is ready, else a fresh one. */
  async take(): Promise<WorkerLink> {
    if (this.closed) throw new Unavailable('serving is shutting down');
    const spare = this.spare;
    this.spare = undefined;
    let link = spare ? await spare.catch(() => undefined) : undefined;
    if (!link?.open) link = await this.start();
    this.refill();
    return link;
  }

  async close(): Promise<void> {
    this.closed = true;
    const spare = await this.spare?.catch(() => undefined);
    this.spare = undefined;
    spare?.kill();
  }

  private start(): Promise<WorkerLink> {
    if (this.mode === 'inline') return Promise.resolve(new InlineLink());
    return this.mode === 'thread'
      ? startThreadWorker(this.opts.threadHeapMb ?? 1024)
      : forkWorker();
  }

  private refill(): void {
    // An inline "worker" starts at once: a spare would save nothing.
    if (!this.opts.keepSpare || this.closed || this.spare || this.mode === 'inline') return;
    const p = this.start();
    p.then(
      (link) => {
        link.onError(() => {}); // an idle spare has nobody to report to
        if (this.closed) link.kill();
      },
      (err: unknown) =>
        this.opts.log.warn({ err, mode: this.mode }, 'spare model worker failed to start'),
    );
    this.spare = p;
  }
}
