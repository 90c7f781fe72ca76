import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { Redis } from 'ioredis';

/** Redis's AOF fsync policies, weighed in docs/operations.md. */
export const APPENDFSYNC_POLICIES = ['always', 'everysec', 'no'] as const;
export type AppendfsyncPolicy = (typeof APPENDFSYNC_POLICIES)[number];

/**
 * An fsync policy named in configuration: one of APPENDFSYNC_POLICIES, else an error that
 * says which variable and what it may be. Unset or empty is `everysec`.
 */
export function parseAppendfsync(
  value: string | undefined,
  variable = 'REDIS_APPENDFSYNC',
): AppendfsyncPolicy {
  if (value === undefined || value === '') return 'everysec';
  const policy = APPENDFSYNC_POLICIES.find((p) => p === value);
  if (!policy) {
    throw new Error(
      `${variable} must be one of ${APPENDFSYNC_POLICIES.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return policy;
}

export interface RedisServerOptions {
  /** Directory holding the AOF and RDB files; created if missing. */
  dir: string;
  port: number;
  /** @defaultValue '127.0.0.1' */
  bind?: string;
  /**
   * AOF fsync policy. `always` makes every acknowledged write survive `kill -9` of Redis
   * and of the machine; `everysec` may lose up to a second on a machine crash but not on a
   * Redis crash (the kernel still holds the written data). See docs/operations.md.
   * @defaultValue 'everysec'
   */
  appendfsync?: AppendfsyncPolicy;
  /** A password for the `default` user (`--requirepass`); ignored when `acl` is given. */
  password?: string;
  /**
   * The users and their rights, as an ACL file's contents (shared/store/acl.ts): written to
   * `<dir>/users.acl` (mode 0600) at every start, so a changed rule applies on the next start,
   * and loaded with `--aclfile`.
   */
  acl?: string;
  /** Who `url` (and the readiness probe) logs in as, when `acl` is given. */
  login?: { user: string; password: string };
  /** @defaultValue 'redis-server' from PATH */
  binary?: string;
  /**
   * Start it in a process group (and session) of its own, so that a terminal's Ctrl-C, which
   * signals the whole foreground group, leaves it to its supervisor to stop (local mode
   * stops it after the services). @defaultValue false
   */
  detached?: boolean;
}

/** How a redis-server process ended. */
export type RedisExitListener = (code: number | null, signal: NodeJS.Signals | null) => void;

/** How long one readiness probe of a starting redis-server may take, in ms. */
const PROBE_TRY_MS = 500;

/** Finds redis-server on PATH, with a hint on how to install it when it is missing. */
export function findRedisServer(binary = 'redis-server'): string {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) {
    throw new Error(
      `${binary} not found on PATH. Install it: apt-get install -y redis-server (Debian/Ubuntu)`,
    );
  }
  return path;
}

/**
 * A real redis-server process, with AOF on, in a data dir. Used by local mode and by
 * every test (never a mock).
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly exitListeners = new Set<RedisExitListener>();
  readonly url: string;

  constructor(readonly opts: RedisServerOptions) {
    const auth = opts.login
      ? `${encodeURIComponent(opts.login.user)}:${encodeURIComponent(opts.login.password)}@`
      : opts.password
        ? `:${encodeURIComponent(opts.password)}@`
        : '';
    this.url = `redis://${auth}${opts.bind ?? '127.0.0.1'}:${opts.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether a redis-server process started by `start` is still there. */
  get running(): boolean {
    const c = this.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  /**
   * Calls `cb` whenever a redis-server started by this object exits, crash or stop alike (a
   * supervisor tells them apart). Returns the unsubscribe.
   */
  onExit(cb: RedisExitListener): () => void {
    this.exitListeners.add(cb);
    return () => this.exitListeners.delete(cb);
  }

  /**
   * Starts redis-server and resolves once it answers PING. May be called again after it
   * exited: the new process has the same port, data dir, password and settings, and replays
   * the AOF.
   */
  async start(timeoutMs = 10_000): Promise<void> {
    // The AOF holds every token hash, dataset and model: its owner's alone.
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.opts.dir, 0o700);
    const aclFile = join(this.opts.dir, 'users.acl');
    if (this.opts.acl !== undefined) {
      writeFileSync(aclFile, this.opts.acl, { mode: 0o600 });
      chmodSync(aclFile, 0o600);
    }
    const bin = findRedisServer(this.opts.binary);
    const args = [
      '--port',
      String(this.opts.port),
      '--bind',
      this.opts.bind ?? '127.0.0.1',
      '--dir',
      this.opts.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      this.opts.appendfsync ?? 'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      ...(this.opts.acl !== undefined
        ? ['--aclfile', aclFile]
        : this.opts.password
          ? ['--requirepass', this.opts.password]
          : []),
    ];
    if (this.running) throw new Error(`redis-server already runs (pid ${this.pid})`);
    // Files redis-server creates (the AOF, its manifest) are readable by their owner only.
    const umask = process.umask(0o077);
    let child: ChildProcess;
    try {
      child = spawn(bin, args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: this.opts.detached ?? false,
      });
    } finally {
      process.umask(umask);
    }
    this.child = child;
    child.on('exit', (code, signal) => {
      for (const l of this.exitListeners) l(code, signal);
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + timeoutMs;
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    const exited = once(child, 'exit').then(() => undefined);
    try {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `redis-server exited with ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`,
          );
        }
        // Each try is bounded: whatever else holds the port (it may accept and never answer)
        // must not hang the start; the child's exit (it could not bind) ends the wait too.
        const attempt = (async () => {
          await probe.connect();
          // LOADING means the AOF is still being replayed: not ready yet.
          return await probe.ping();
        })();
        attempt.catch(() => {});
        const answer = await Promise.race([
          attempt.catch(() => undefined),
          exited,
          new Promise<undefined>((r) => setTimeout(r, PROBE_TRY_MS, undefined).unref()),
        ]);
        if (answer === 'PONG') return;
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server not ready after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Clean stop: SIGTERM makes Redis fsync the AOF before it exits. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Simulates a crash: no chance to flush anything. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
