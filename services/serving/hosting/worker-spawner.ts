/**
 * Forks model processes. Keeps one warm spare (node, loader and onnxruntime already loaded)
 * so that replacing a crashed process costs a model load, not a process start: under tsx on
 * a busy 2-core box a cold start takes seconds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Unavailable, type Logger } from '../../../shared/index.js';

// Keep the current extension so this works from .ts under tsx and from .js after build.
const WORKER = fileURLToPath(
  new URL(`./model-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Node flags for the child: the loader hooks (tsx) yes, the test runner's flags no. */
function childExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect'));
}

const alive = (c: ChildProcess) => c.connected && c.exitCode === null && c.signalCode === null;

/** Forks a model worker and resolves once it has said hello. */
export function forkWorker(): Promise<ChildProcess> {
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
      resolve(child);
    });
  });
}

export class WorkerSpawner {
  private spare: Promise<ChildProcess> | undefined;
  private closed = false;

  constructor(private readonly opts: { keepSpare: boolean; log: Logger }) {}

  /** A started model worker: the warm spare when one is ready, else a fresh fork. */
  async take(): Promise<ChildProcess> {
    if (this.closed) throw new Unavailable('serving is shutting down');
    const spare = this.spare;
    this.spare = undefined;
    let child = spare ? await spare.catch(() => undefined) : undefined;
    if (!child || !alive(child)) child = await forkWorker();
    this.refill();
    return child;
  }

  async close(): Promise<void> {
    this.closed = true;
    const spare = await this.spare?.catch(() => undefined);
    this.spare = undefined;
    spare?.kill('SIGKILL');
  }

  private refill(): void {
    if (!this.opts.keepSpare || this.closed || this.spare) return;
    const p = forkWorker();
    p.then(
      (c) => {
        c.on('error', () => {}); // an idle spare has nobody to report to
        if (this.closed) c.kill('SIGKILL');
      },
      (err: unknown) => this.opts.log.warn({ err }, 'spare model process failed to start'),
    );
    this.spare = p;
  }
}
