import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { freePort } from '../../shared/runtime/net.js';

/** Why a broker test must skip, or undefined when the binary is there. */
export function mosquittoMissing(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v mosquitto']).status === 0
    ? undefined
    : 'mosquitto not installed (apt-get install -y mosquitto mosquitto-clients)';
}

const RABBIT_LIB = '/usr/lib/rabbitmq/lib';

function rabbitServerBin(): string | undefined {
  if (!existsSync(RABBIT_LIB)) return undefined;
  const dir = readdirSync(RABBIT_LIB).find((d) => d.startsWith('rabbitmq_server-'));
  const bin = dir && join(RABBIT_LIB, dir, 'sbin', 'rabbitmq-server');
  return bin && existsSync(bin) ? bin : undefined;
}

export function rabbitMissing(): string | undefined {
  return rabbitServerBin()
    ? undefined
    : 'rabbitmq-server not installed (apt-get install -y rabbitmq-server)';
}

async function waitPort(port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`broker on ${port} exited during start`);
    if (Date.now() > deadline) throw new Error(`broker on ${port} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function term(child: ChildProcess | undefined, timeoutMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

export interface TestMosquitto {
  url: string;
  port: number;
  /** SIGTERM (the broker saves its persistence DB), then start again on the same port. */
  restart(downMs?: number): Promise<void>;
  /** SIGTERM only; `start()` brings it back */
  stopBroker(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A real mosquitto with persistence on a free port in a temp dir. */
export async function startMosquitto(): Promise<TestMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-mqtt-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'user root',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      'max_queued_messages 100000',
      'log_dest none',
    ].join('\n') + '\n',
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    child = c;
    await waitPort(port, 5000, () => c.exitCode === null);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    start,
    stopBroker: () => term(child),
    async restart(downMs = 200) {
      await term(child);
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await term(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestRabbit {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real RabbitMQ node (about 7 s to start: share one per test file). As root the Debian
 * wrappers switch user, so the server script is called directly with per-node variables.
 */
export async function startRabbit(): Promise<TestRabbit> {
  const bin = rabbitServerBin();
  if (!bin) throw new Error(rabbitMissing());
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-rabbit-'));
  const [port, dist] = [await freePort(), await freePort()];
  const node = `t${port}@localhost`;
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users = none\n');
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_BASE: dir,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const child = spawn(bin, [], { env, stdio: 'ignore', detached: false });
  await waitPort(port, 60_000, () => child.exitCode === null);
  // The AMQP port opens a moment before the node accepts logins; a probe connection settles it.
  const { connect } = await import('amqplib');
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await connect(url);
      await c.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    async stop() {
      await term(child, 15_000);
      // rabbitmq-server's script execs the Erlang VM; its epmd stays behind otherwise.
      spawnSync('epmd', ['-kill'], { env, timeout: 5000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
