import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { serviceCommand, type Logger } from '../../shared/index.js';
import type { Backend, LaunchSpec, Placement, WorkerExit, WorkerInfo } from './backend.js';

const LOG_LINES = 30;

interface Running {
  sessionId: string;
  child?: ChildProcess;
  pid: number;
  lines: string[];
  /** adopted after a restart: not our child, watched by polling */
  adopted?: NodeJS.Timeout;
}

/** 128 + signal number, the shell's convention (SIGKILL → 137). */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (code !== null) return code;
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return null;
}

/**
 * Workers as local child processes (local mode). Each worker gets its own process group
 * (detached) so a crash of the handler leaves it running to be re-adopted, and a stop
 * signals the whole group.
 */
export class ProcessBackend implements Backend {
  readonly name = 'process' as const;
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Set<(e: WorkerExit) => void>();

  constructor(private readonly log: Logger) {}

  async launch(spec: LaunchSpec): Promise<Placement> {
    const [cmd, ...args] = spec.command.length ? spec.command : [];
    const { command, args: baseArgs } = cmd
      ? { command: cmd, args }
      : serviceCommand(spec.kind === 'batch-infer' ? 'batch-infer' : 'trainer');
    const nodeArgs =
      spec.limits.memoryMb && command === process.execPath
        ? [`--max-old-space-size=${spec.limits.memoryMb}`, ...baseArgs]
        : baseArgs;
    const child = spawn(command, nodeArgs, {
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      await new Promise((resolve) => child.once('error', resolve));
      throw new Error(`could not start worker ${command}`);
    }
    const r: Running = { sessionId: spec.sessionId, child, pid: child.pid, lines: [] };
    this.running.set(String(child.pid), r);
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      createInterface({ input: s }).on('line', (line) => {
        r.lines.push(line.length > 2000 ? line.slice(0, 2000) + '…' : line);
        if (r.lines.length > LOG_LINES) r.lines.shift();
      });
    }
    child.on('exit', (code, signal) => {
      // Give readline a tick to flush the last lines before they are reported.
      setImmediate(() => this.finish(r, exitCodeOf(code, signal), signal));
    });
    this.log.info({ sessionId: spec.sessionId, pid: child.pid }, 'worker started');
    return { backend: 'process', workerId: String(child.pid), node: 'local' };
  }

  private finish(r: Running, exitCode: number | null, signal: string | null, error?: string) {
    if (!this.running.delete(String(r.pid))) return;
    if (r.adopted) clearInterval(r.adopted);
    const exit: WorkerExit = {
      sessionId: r.sessionId,
      workerId: String(r.pid),
      exitCode,
      signal,
      lastLogs: [...r.lines],
      ...(error ? { error } : {}),
    };
    for (const l of this.listeners) l(exit);
  }

  /**
   * Re-attaches to a worker started by a previous handler process. Its exit code cannot be
   * read (it is not our child), so an adopted worker that vanishes reports `exitCode: null`.
   */
  adopt(sessionId: string, workerId: string): boolean {
    const pid = Number(workerId);
    if (!isAlive(pid)) return false;
    const r: Running = { sessionId, pid, lines: [] };
    r.adopted = setInterval(() => {
      if (!isAlive(pid))
        this.finish(r, null, null, 'worker exited while not supervised by this handler');
    }, 200);
    r.adopted.unref();
    this.running.set(workerId, r);
    return true;
  }

  async stop(workerId: string, opts: { graceMs?: number } = {}): Promise<void> {
    const r = this.running.get(workerId);
    const pid = Number(workerId);
    if (!r && !isAlive(pid)) return;
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + (opts.graceMs ?? 1500);
    while (isAlive(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
    if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  }

  onExit(cb: (exit: WorkerExit) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async list(): Promise<WorkerInfo[]> {
    return [...this.running.entries()].map(([workerId, r]) => ({
      sessionId: r.sessionId,
      workerId,
      running: isAlive(r.pid),
    }));
  }

  /** Pids of workers this backend runs (for shutdown). */
  workerIds(): string[] {
    return [...this.running.keys()];
  }

  async close(): Promise<void> {
    for (const r of this.running.values()) if (r.adopted) clearInterval(r.adopted);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}
