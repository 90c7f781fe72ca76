import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { serviceCommand, type Logger } from '../../shared/index.js';
import type { Backend, LaunchSpec, Placement, WorkerExit, WorkerInfo } from './backend.js';

const LOG_LINES = 30;
/**
 * How long a launch waits for a spare still loading before starting a process of its own: a
 * fresh start would take as long, so this only guards against a spare that hangs.
 */
const SPARE_WAIT_MS = 15_000;

interface Spare {
  child: ChildProcess;
  lines: string[];
  /** true once it said it is loaded; false if it died first */
  ready: Promise<boolean>;
}

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

  private spare: Spare | undefined;
  /** spares a launch is waiting on, so that close() can end them too */
  private readonly awaited = new Set<Spare>();
  private closed = false;

  /**
   * @param warm keep one built-in trainer process started and idle, its modules loaded, and
   * hand it the next training session over IPC (session start in tens of ms, not hundreds).
   * @param baseEnv PATH and HOME for that spare until it gets its session's environment.
   */
  constructor(
    private readonly log: Logger,
    private readonly opts: { warm?: boolean; baseEnv?: Record<string, string> } = {},
  ) {
    if (opts.warm) this.spawnSpare();
  }

  private spawnSpare(): void {
    if (this.closed) return;
    const { command, args } = serviceCommand('trainer');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        env: { ...this.opts.baseEnv, SWARMML_WARM: '1' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
    } catch (err) {
      // Without a spare, launches start their own processes: slower, never wrong.
      this.log.warn({ err }, 'warm trainer could not be started');
      return;
    }
    const spare: Spare = {
      child,
      lines: [],
      ready: new Promise<boolean>((resolve) => {
        child.once('message', () => resolve(true));
        child.once('exit', () => resolve(false));
        child.once('error', () => resolve(false));
      }),
    };
    this.collectLines(child, spare.lines);
    child.once('exit', () => {
      if (this.spare === spare) this.spare = undefined;
    });
    child.on('error', (err) => this.log.warn({ err }, 'warm trainer failed to start'));
    this.spare = spare;
  }

  private collectLines(child: ChildProcess, lines: string[]): void {
    for (const s of [child.stdout, child.stderr]) {
      if (!s) continue;
      createInterface({ input: s }).on('line', (line) => {
        lines.push(line.length > 2000 ? line.slice(0, 2000) + '…' : line);
        if (lines.length > LOG_LINES) lines.shift();
      });
    }
  }

  /**
   * Hands a session to the warm spare when it fits (built-in trainer, no memory limit). A
   * spare still loading its modules is waited for: it is further along than a fresh start
   * would be, on the same cores. One that is not ready in SPARE_WAIT_MS is passed over.
   */
  private async takeSpare(spec: LaunchSpec): Promise<Placement | undefined> {
    const spare = this.spare;
    const fits = spec.kind === 'train' && spec.command.length === 0 && !spec.limits.memoryMb;
    if (!fits || !spare || spare.child.pid === undefined || spare.child.exitCode !== null)
      return undefined;
    // Taken now, so that a second launch during the wait starts a process of its own.
    this.spare = undefined;
    this.awaited.add(spare);
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      spare.ready,
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), SPARE_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    this.awaited.delete(spare);
    if (this.closed) throw new Error('the process backend is closed');
    if (!ready || !spare.child.connected) {
      signalGroup(spare.child.pid, 'SIGKILL');
      this.spawnSpare();
      return undefined;
    }
    spare.child.send({ env: spec.env });
    const r: Running = {
      sessionId: spec.sessionId,
      child: spare.child,
      pid: spare.child.pid,
      lines: spare.lines,
    };
    this.running.set(String(r.pid), r);
    spare.child.on('exit', (code, signal) => {
      setImmediate(() => this.finish(r, exitCodeOf(code, signal), signal));
    });
    // The next spare warms up while this session runs; started now, so that the next launch
    // finds it however soon it comes.
    this.spawnSpare();
    this.log.info({ sessionId: spec.sessionId, pid: r.pid }, 'worker started (warm spare)');
    return {
      backend: 'process',
      workerId: String(r.pid),
      node: 'local',
      warm: true,
      ...recorded(spec),
    };
  }

  async launch(spec: LaunchSpec): Promise<Placement> {
    if (this.closed) throw new Error('the process backend is closed');
    const warm = await this.takeSpare(spec);
    if (warm) return warm;
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
    this.collectLines(child, r.lines);
    child.on('exit', (code, signal) => {
      // Give readline a tick to flush the last lines before they are reported.
      setImmediate(() => this.finish(r, exitCodeOf(code, signal), signal));
    });
    this.log.info({ sessionId: spec.sessionId, pid: child.pid }, 'worker started');
    return { backend: 'process', workerId: String(child.pid), node: 'local', ...recorded(spec) };
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
    this.closed = true;
    for (const spare of [this.spare, ...this.awaited]) {
      if (spare?.child.pid !== undefined && spare.child.exitCode === null)
        signalGroup(spare.child.pid, 'SIGKILL');
    }
    this.spare = undefined;
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

/**
 * Local mode has one node, so no constraint can be honoured; a moved session's is still
 * recorded, so its record says where it was meant to run (and it is not moved again).
 */
function recorded(spec: LaunchSpec): Pick<Placement, 'constraints'> {
  return spec.lowPriority ? { constraints: ['node.labels.priority==low'] } : {};
}
