import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { Redis } from 'ioredis';

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
  appendfsync?: 'always' | 'everysec' | 'no';
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
}

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
    // Files redis-server creates (the AOF, its manifest) are readable by their owner only.
    const umask = process.umask(0o077);
    let child: ChildProcess;
    try {
      child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } finally {
      process.umask(umask);
    }
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + timeoutMs;
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      for (;;) {
        if (child.exitCode !== null) {
          throw new Error(`redis-server exited with ${child.exitCode}: ${stderr.trim()}`);
        }
        try {
          await probe.connect();
          // LOADING means the AOF is still being replayed: not ready yet.
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          probe.disconnect();
        }
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
