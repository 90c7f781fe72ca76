/**
 * `swarmml up` as a user runs it (the CLI's entry, a real redis-server, every service a
 * process), in a temp SWARMML_HOME on free ports, for the local-mode tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, freePort } from '../../../shared/index.js';
import { readLocalState, type LocalState } from '../../../cli/local/state-file.js';
import { freePortBlock } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { alive, descendants } from '../../helpers/processes.js';

export interface LocalModeUnderTest {
  child: ChildProcess;
  home: string;
  url: string;
  token: string;
  /** stdout and stderr of `swarmml up` (every service's lines, prefixed), so far */
  output(): string;
  state(): LocalState;
  pid(name: string): number;
  /** fetch on the gateway with the admin token */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** the environment a CLI command needs to reach this instance */
  env: NodeJS.ProcessEnv;
  /** `signal` to the process group of `swarmml up` (started with `ownGroup`), as a terminal does */
  signalGroup(signal: NodeJS.Signals): void;
  /** SIGTERM, then every process it started gone; the temp home removed */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Ports local mode takes from SWARMML_PORT on (gateway, serving, intake, handler, gRPC,
 * listener, serving's direct port).
 */
const PORTS = 7;

/**
 * @param opts.ownGroup start `swarmml up` as a terminal starts a foreground job: leader of a
 * process group of its own, which `signalGroup` signals whole, as Ctrl-C does
 * @param opts.keepHome leave SWARMML_HOME in place when stopped
 */
export async function startLocalModeUnderTest(
  env: NodeJS.ProcessEnv = {},
  opts: { ownGroup?: boolean; keepHome?: boolean } = {},
): Promise<LocalModeUnderTest> {
  // A home and ports given in `env` are reused (a second start on the same installation).
  const home = env.SWARMML_HOME ?? mkdtempSync(join(tmpdir(), 'swarmml-home-'));
  const port = env.SWARMML_PORT ? Number(env.SWARMML_PORT) : await freePortBlock(PORTS);
  const url = `http://127.0.0.1:${port}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    SWARMML_HOME: home,
    SWARMML_PORT: String(port),
    SWARMML_REDIS_PORT: env.SWARMML_REDIS_PORT ?? String(await freePort()),
    LOG_LEVEL: 'warn',
    // Test files start local modes side by side with a swarm stack on 2 cores.
    SWARMML_START_TIMEOUT_S: '180',
    ...env,
  };
  delete childEnv.NODE_TEST_CONTEXT;
  const { command, args } = cliCommand();
  const child = spawn(command, [...args, 'up', '--no-demo'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownGroup ?? false,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let everyPid: number[] = [];
  const stop = async () => {
    everyPid = [...new Set([...everyPid, ...descendants(child.pid!)])];
    try {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
        await waitFor(() => everyPid.every((p) => !alive(p)), {
          timeoutMs: 15_000,
          what: 'every process of local mode to exit',
        });
        return { code, signal };
      }
      return { code: child.exitCode, signal: child.signalCode };
    } finally {
      for (const p of everyPid) if (alive(p)) process.kill(p, 'SIGKILL');
      if (!opts.keepHome) rmSync(home, { recursive: true, force: true });
    }
  };
  try {
    await waitFor(() => out.includes('running; press Ctrl-C') || child.exitCode !== null, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: `local mode up:\n${out}`,
    });
    if (child.exitCode !== null) throw new Error(`swarmml up exited ${child.exitCode}:\n${out}`);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
  const state = () => {
    const s = readLocalState(home);
    if (!s) throw new Error(`no local-mode.json in ${home}`);
    // Remembered for stop(): a process restarted meanwhile is no child of the old ones.
    everyPid = [...new Set([...everyPid, ...descendants(child.pid!)])];
    return s;
  };
  return {
    child,
    home,
    url,
    token,
    output: () => out,
    state,
    signalGroup(signal) {
      everyPid = [...new Set([...everyPid, ...descendants(child.pid!)])];
      process.kill(-child.pid!, signal);
    },
    pid(name) {
      const p = state().processes.find((x) => x.name === name);
      if (!p?.pid) throw new Error(`${name} has no pid: ${JSON.stringify(p)}`);
      return p.pid;
    },
    api: (path, init = {}) =>
      fetch(url + path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      }),
    env: {
      ...process.env,
      SWARMML_HOME: home,
      SWARMML_PORT: String(port),
      SWARMML_URL: url,
      SWARMML_TOKEN: token,
    },
    stop,
  };
}
