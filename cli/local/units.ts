import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { RedisServer } from '../../shared/index.js';

export type ExitListener = (code: number | null, signal: NodeJS.Signals | null) => void;

/** One process local mode's supervisor keeps running. */
export interface Unit {
  readonly name: string;
  /** the port it serves on, for `swarmml status` */
  readonly port: number | undefined;
  readonly pid: number | undefined;
  /**
   * Starts the process; resolves once it runs (Redis: once it answers PING), saying whether
   * a spare was handed the service (`warm`) or a new process started (`cold`).
   */
  start(): Promise<StartKind>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited (at once if it does not run). */
  stop(graceMs: number): Promise<void>;
  /** Called on every exit of the process, wanted or not. */
  onExit(cb: ExitListener): void;
  /**
   * Prepares for a fast restart, if the unit can (a spare process); called while supervised.
   * `changed` is called when the spare's state changes.
   */
  standby?(changed: () => void): void;
  /** the spare's state, for units that keep one */
  readonly spare?: SpareState;
}

export type StartKind = 'warm' | 'cold';
/** `none` while a unit that keeps a spare has none (it died, or was just used) */
export type SpareState = 'loading' | 'ready' | 'none';

/**
 * A service as a child process in a process group of its own (detached), so that a
 * terminal's Ctrl-C reaches only the supervisor, which stops the services in order. Its
 * output is prefixed with its name. An IPC channel ties it to the supervisor: the service
 * shuts down when the channel closes (shared/runtime/shutdown.ts), so a supervisor killed
 * with SIGKILL leaves no service behind.
 *
 * With `warmArgs` (cli/local/warm-service.ts), a spare process with the service's modules
 * loaded stands by once `standby()` is called, and a restart hands over to it: the service is
 * back in a fraction of a cold start (the gateway: the door, which must not stay shut).
 */
export class ServiceProcess implements Unit {
  private child: ChildProcess | undefined;
  private standing: Spare | undefined;
  private readonly listeners = new Set<ExitListener>();

  constructor(
    readonly name: string,
    private readonly spec: {
      command: string;
      args: string[];
      env: NodeJS.ProcessEnv;
      /** args that start a spare instead (the warm-service entry, then the main module) */
      warmArgs?: string[];
    },
    readonly port: number | undefined,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  get pid(): number | undefined {
    return this.child && running(this.child) ? this.child.pid : undefined;
  }

  get spare(): SpareState | undefined {
    if (!this.spec.warmArgs) return undefined;
    if (!this.standing) return 'none';
    return this.standing.isReady ? 'ready' : 'loading';
  }

  private spawn(args: string[]): ChildProcess {
    const child = spawn(this.spec.command, args, {
      env: this.spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const tag = `[${this.name}]`.padEnd(17);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.out.write(`${tag} ${line}\n`));
    }
    // 'close' rather than 'exit': the last lines of a dying process are printed first.
    child.on('close', (code, signal) => {
      if (child !== this.child) return; // a spare that was never handed the service
      for (const l of this.listeners) l(code, signal);
    });
    return child;
  }

  async start(): Promise<StartKind> {
    const spare = this.standing;
    this.standing = undefined;
    // A spare still loading is further along than a cold start; one that hangs is passed over.
    const ready = spare && (await withTimeout(spare.ready, SPARE_WAIT_MS, false));
    if (spare && ready && running(spare.child) && spare.child.connected) {
      this.child = spare.child;
      spare.child.send({ go: true });
      return 'warm';
    }
    if (spare) signal(spare.child, 'SIGKILL');
    const child = this.spawn(this.spec.args);
    this.child = child;
    await Promise.race([
      once(child, 'spawn'),
      once(child, 'error').then(([err]) => Promise.reject(err as Error)),
    ]);
    return 'cold';
  }

  /** Starts a spare, if this service keeps one and none stands by. */
  standby(changed: () => void): void {
    if (!this.spec.warmArgs || this.standing) return;
    const child = this.spawn(this.spec.warmArgs);
    const spare: Spare = {
      child,
      isReady: false,
      ready: new Promise<boolean>((resolve) => {
        child.once('message', () => {
          spare.isReady = true;
          resolve(true);
          if (this.standing === spare) changed();
        });
        child.once('exit', () => resolve(false));
        child.once('error', () => resolve(false));
      }),
    };
    child.once('exit', () => {
      if (this.standing !== spare) return;
      this.standing = undefined;
      changed();
    });
    this.standing = spare;
    changed();
  }

  async stop(graceMs: number): Promise<void> {
    const spare = this.standing;
    this.standing = undefined;
    if (spare && running(spare.child)) {
      const gone = once(spare.child, 'close');
      signal(spare.child, 'SIGKILL'); // idle: nothing of its own to finish
      await gone;
    }
    const child = this.child;
    if (!child || !running(child)) return;
    const closed = once(child, 'close');
    signal(child, 'SIGTERM');
    const t = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
    await closed;
    clearTimeout(t);
  }

  onExit(cb: ExitListener): void {
    this.listeners.add(cb);
  }
}

/** How long a restart waits for a spare still loading before it starts cold. */
const SPARE_WAIT_MS = 15_000;

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface Spare {
  child: ChildProcess;
  /** whether `ready` resolved true */
  isReady: boolean;
  /** true once its modules are loaded; false if it died first */
  ready: Promise<boolean>;
}

function running(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function signal(c: ChildProcess, sig: NodeJS.Signals): void {
  try {
    c.kill(sig);
  } catch {
    // gone already
  }
}

/** The local redis-server as a unit: restarted on the same port, data dir and settings. */
export class RedisUnit implements Unit {
  readonly name = 'redis';

  constructor(private readonly server: RedisServer) {}

  get port(): number {
    return this.server.opts.port;
  }

  get pid(): number | undefined {
    return this.server.running ? this.server.pid : undefined;
  }

  async start(): Promise<StartKind> {
    await this.server.start();
    return 'cold';
  }

  stop(graceMs: number): Promise<void> {
    return this.server.stop(graceMs);
  }

  onExit(cb: ExitListener): void {
    this.server.onExit(cb);
  }
}
