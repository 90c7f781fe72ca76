import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { RedisServer, findRedisServer, portFree, serviceCommand } from '../../shared/index.js';
import { localRedisAuth } from './secrets.js';
import { ensureAdminToken, type LocalSettings } from './settings.js';
import { leftoverRedis, removeLocalState, writeLocalState } from './state-file.js';
import { Supervisor } from './supervisor.js';
import { RedisUnit, ServiceProcess } from './units.js';

/** What a local-mode session may run as its worker command when ALLOWED_COMMANDS is unset. */
export const LOCAL_ALLOWED_COMMANDS = 'python3,/usr/bin/python3';

/** Services local mode runs, in start order (the gateway last: it is the door). */
export const LOCAL_SERVICES = [
  'event-handler',
  'event-listener',
  'data-intake',
  'serving',
  'gateway',
] as const;

/**
 * The order local mode stops in: the gateway first and alone, so that no new work arrives;
 * then the services that call the event handler or take work; the event handler (it stops
 * its workers); Redis last, so that nothing that still runs loses it and logs errors.
 */
const STOP_STAGES = [
  ['gateway'],
  ['serving', 'data-intake', 'event-listener'],
  ['event-handler'],
  ['redis'],
] as const;

/** cli/local/warm-service, as built (.js) or run from source (.ts) */
const WARM_ENTRY = fileURLToPath(
  new URL(`./warm-service${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

/** How long a process has to stop after SIGTERM before SIGKILL (services allow themselves 8 s). */
const STOP_GRACE_MS = 9_000;

export interface LocalMode {
  token: string;
  url: string;
  redis: RedisServer;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

function say(msg: string) {
  process.stdout.write(`[swarmml]         ${msg}\n`);
}

/** Installs redis-server with apt when it is missing and we are root (DESIGN.md §6). */
function ensureRedisInstalled(): void {
  try {
    findRedisServer();
  } catch (err) {
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      say('redis-server not found: installing it with apt-get');
      const r = spawnSync(
        'sh',
        [
          '-c',
          'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server',
        ],
        {
          stdio: 'inherit',
        },
      );
      if (r.status === 0) return;
    }
    throw err;
  }
}

/** A redis-server left by a local mode that was killed (SIGKILL) is stopped before starting anew. */
async function stopLeftoverRedis(home: string, log: (m: string) => void): Promise<void> {
  const pid = leftoverRedis(home);
  if (pid === undefined) return;
  log(`stopping the redis-server (pid ${pid}) a previous swarmml up left running`);
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  };
  process.kill(pid, 'SIGTERM'); // Redis writes its AOF out and exits
  const deadline = Date.now() + 10_000;
  while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!gone()) process.kill(pid, 'SIGKILL');
}

function entryExists(service: string): boolean {
  const { args } = serviceCommand(service);
  return existsSync(args[args.length - 1] ?? '');
}

/**
 * Starts local mode: a real redis-server with AOF in $SWARMML_HOME/redis, then every
 * service as a child process. Resolves once the gateway answers /readyz.
 */
export async function startLocalMode(
  s: LocalSettings,
  opts: { log?: (m: string) => void } = {},
): Promise<LocalMode> {
  const log = opts.log ?? say;
  const wanted: [string, number][] = [
    ['SWARMML_PORT (gateway)', s.port],
    ['serving (SWARMML_PORT+1)', s.servingPort],
    ['data-intake (SWARMML_PORT+2)', s.intakePort],
    ['event-handler (SWARMML_PORT+3)', s.eventHandlerPort],
    ['event-listener health (SWARMML_PORT+5)', s.listenerPort],
    ['gateway gRPC (SWARMML_PORT+4)', s.grpcPort],
    ['serving direct (SWARMML_PORT+6)', s.servingDirectPort],
    ['SWARMML_REDIS_PORT', s.redisPort],
  ];
  await stopLeftoverRedis(s.home, log);
  for (const [what, port] of wanted) {
    if (!(await portFree(port))) {
      throw new Error(
        `port ${port} for ${what} is already in use: is swarmml already running? Pick another with SWARMML_PORT=...`,
      );
    }
  }
  ensureRedisInstalled();
  // Redis requires a login: one ACL user per service, passwords derived from a secret kept
  // in SWARMML_HOME (docs/security.md).
  const auth = localRedisAuth(s.home, s.prefix);
  const { token, created } = ensureAdminToken(s);
  const redis = new RedisServer({
    ...auth.server,
    dir: join(s.home, 'redis'),
    port: s.redisPort,
    appendfsync: s.redisAppendfsync,
    detached: true,
  });
  const redisBase = `redis://127.0.0.1:${s.redisPort}`;
  const url = `http://127.0.0.1:${s.port}`;
  let failed: string | undefined;
  const supervisor = new Supervisor({
    log,
    onChange: (states) => {
      try {
        writeLocalState(s.home, url, states);
      } catch (err) {
        log(`could not write ${s.home}/local-mode.json: ${(err as Error).message}`);
      }
    },
    onEarlyExit: (name, code, signal) => {
      failed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
      log(failed);
    },
  });
  async function startProcesses(): Promise<void> {
    supervisor.add(new RedisUnit(redis));
    await supervisor.start('redis');
    log(`redis-server on 127.0.0.1:${s.redisPort} (AOF in ${join(s.home, 'redis')})`);
    const common = {
      ...process.env,
      // Each service gets REDIS_URL with its own user (below); the handler hands the built-in
      // workers theirs, and external workers none.
      SWARMML_PREFIX: s.prefix,
      // Local mode runs Python trainers (docs/workers.md) unless the operator says otherwise.
      ALLOWED_COMMANDS: process.env.ALLOWED_COMMANDS || LOCAL_ALLOWED_COMMANDS,
      TRAINER_REDIS_URL: auth.urlFor(redisBase, 'trainer'),
      BATCH_INFER_REDIS_URL: auth.urlFor(redisBase, 'batch-infer'),
      SWARMML_HOME: s.home,
      ADMIN_TOKEN_FILE: s.tokenFile,
      INTERNAL_TOKEN_FILE: s.tokenFile,
      GATEWAY_URL: `http://127.0.0.1:${s.port}`,
      SERVING_URL: `http://127.0.0.1:${s.servingPort}`,
      SERVING_UPSTREAM: `http://127.0.0.1:${s.servingPort}`,
      INTAKE_URL: `http://127.0.0.1:${s.intakePort}`,
      EVENT_HANDLER_URL: `http://127.0.0.1:${s.eventHandlerPort}`,
    };
    const ports: Record<string, number> = {
      gateway: s.port,
      serving: s.servingPort,
      'data-intake': s.intakePort,
      'event-handler': s.eventHandlerPort,
      'event-listener': s.listenerPort,
    };
    for (const name of LOCAL_SERVICES) {
      if (!entryExists(name)) continue;
      const { command, args } = serviceCommand(name);
      const port = ports[name];
      const env = {
        ...common,
        REDIS_URL: auth.urlFor(redisBase, name),
        ...(port ? { PORT: String(port) } : {}),
        ...(name === 'gateway' ? { SWARMML_GRPC_PORT: String(s.grpcPort) } : {}),
        ...(name === 'serving' ? { DIRECT_PORT: String(s.servingDirectPort) } : {}),
      };
      // The gateway keeps a spare with its modules loaded: killed, it is back in about a second.
      const warmArgs =
        name === 'gateway' ? [...args.slice(0, -1), WARM_ENTRY, args[args.length - 1]!] : undefined;
      supervisor.add(new ServiceProcess(name, { command, args, env, warmArgs }, port), {
        needs: 'redis',
      });
      await supervisor.start(name);
    }

    const deadline = Date.now() + s.startTimeoutS * 1000;
    for (;;) {
      if (failed) throw new Error(failed);
      if (interrupted) throw new Error(`${interrupted} during start-up`);
      try {
        const r = await fetch(`${url}/readyz`);
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline)
        throw new Error(
          `gateway not ready on ${url} after ${s.startTimeoutS} s (SWARMML_START_TIMEOUT_S)`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stop = async () => {
    await supervisor.stop(STOP_STAGES, STOP_GRACE_MS);
    removeLocalState(s.home);
  };
  // Until `up` takes over the signals, a Ctrl-C during start-up must still stop what started:
  // the processes run in groups of their own, which the terminal's signal does not reach.
  let interrupted: string | undefined;
  const onSignal = (sig: NodeJS.Signals) => (interrupted = sig);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  try {
    await startProcesses();
  } catch (err) {
    await stop();
    throw err;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
  supervisor.supervise();
  log(`gateway ready: ${url}  (dashboard: ${url}/)`);
  log(`admin token ${created ? 'created' : 'read'}: ${s.tokenFile}`);
  if (created) log(`admin token: ${token}`);
  return { token, url, redis, supervisor, stop };
}

/** Where the built dashboard lives, if built. */
export function dashboardDir(): string {
  return fileURLToPath(new URL('../../web/dist', import.meta.url));
}
