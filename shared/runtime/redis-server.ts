import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
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
  password?: string;
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
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
    this.url = `redis://${auth}${opts.bind ?? '127.0.0.1'}:${opts.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
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
      ...(this.opts.password ? ['--requirepass', this.opts.password] : []),
    ];
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
