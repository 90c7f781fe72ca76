import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { RedisServer, findRedisServer, portFree, serviceCommand } from '../../shared/index.js';
import { ProcessGroup } from './process-group.js';
import { localRedisAuth } from './secrets.js';
import { ensureAdminToken, type LocalSettings } from './settings.js';

/** Services local mode runs, in start order (the gateway last: it is the door). */
export const LOCAL_SERVICES = [
  'event-handler',
  'event-listener',
  'data-intake',
  'serving',
  'gateway',
] as const;

export interface LocalMode {
  token: string;
  url: string;
  redis: RedisServer;
  group: ProcessGroup;
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
    ['gateway gRPC (SWARMML_PORT+4)', s.grpcPort],
    ['SWARMML_REDIS_PORT', s.redisPort],
  ];
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
    appendfsync: 'everysec',
  });
  await redis.start();
  log(`redis-server on 127.0.0.1:${s.redisPort} (AOF in ${join(s.home, 'redis')})`);

  const redisBase = `redis://127.0.0.1:${s.redisPort}`;
  let failed: string | undefined;
  const group = new ProcessGroup((name, code, signal) => {
    failed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
    log(failed);
  });
  const common = {
    ...process.env,
    // Each service gets REDIS_URL with its own user (below); the handler hands the built-in
    // workers theirs, and external workers none.
    SWARMML_PREFIX: s.prefix,
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
  };
  for (const name of LOCAL_SERVICES) {
    if (!entryExists(name)) continue;
    const { command, args } = serviceCommand(name);
    const port = ports[name];
    group.start(name, command, args, {
      ...common,
      REDIS_URL: auth.urlFor(redisBase, name),
      ...(port ? { PORT: String(port) } : {}),
      ...(name === 'gateway' ? { SWARMML_GRPC_PORT: String(s.grpcPort) } : {}),
    });
  }

  const url = `http://127.0.0.1:${s.port}`;
  const stop = async () => {
    await group.stopAll();
    await redis.stop();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (failed) {
      await stop();
      throw new Error(failed);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`gateway not ready on ${url} after 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`gateway ready: ${url}  (dashboard: ${url}/)`);
  log(`admin token ${created ? 'created' : 'read'}: ${s.tokenFile}`);
  if (created) log(`admin token: ${token}`);
  return { token, url, redis, group, stop };
}

/** Where the built dashboard lives, if built. */
export function dashboardDir(): string {
  return fileURLToPath(new URL('../../web/dist', import.meta.url));
}
