import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { ConfigError, baseEnv, envBool, parseEnv, readInternalToken } from '../../shared/index.js';

const schema = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  HOST: z.string().default('127.0.0.1'),
  /** Shared secret of the services (and the bootstrap admin token in local mode). */
  INTERNAL_TOKEN: z.string().min(16).optional(),
  INTERNAL_TOKEN_FILE: z.string().optional(),
  ADMIN_TOKEN_FILE: z.string().optional(),
  BACKEND: z.enum(['process', 'swarm']).default('process'),
  /** Sessions running at once; the rest wait in the queue by priority. */
  MAX_SESSIONS: z.coerce.number().int().min(1).max(256).default(2),
  /** URL workers use to reach the gateway (external trainers) and this handler's WS. */
  GATEWAY_URL: z.string().url().default('http://127.0.0.1:8080'),
  /** What workers dial to reach this handler (ws://host:port/ws); derived in local mode. */
  HANDLER_WS_URL: z.string().optional(),
  /** Grace between SIGTERM and SIGKILL when stopping a worker. */
  STOP_GRACE_MS: z.coerce.number().int().min(0).max(60_000).default(1500),
  /** Stop running workers when this handler shuts down cleanly (local mode). */
  STOP_WORKERS_ON_EXIT: envBool.default(true),
  /** Swarm: the trainer image and the allow-list of images sessions may name. */
  TRAINER_IMAGE: z.string().default('swarmml/app:latest'),
  ALLOWED_IMAGES: z.string().default('swarmml/app:*'),
  /** Executables a local-mode session may run as its worker command (comma list; none by default). */
  ALLOWED_COMMANDS: z.string().default(''),
  /** Swarm: workers carry `swarmml.scope=<scope>`; the overlay network they join; secrets `name:target,...`. */
  SWARM_SCOPE: z.string().default('swarmml'),
  SWARM_NETWORK: z.string().optional(),
  SWARM_WORKER_SECRETS: z.string().default(''),
  /** The largest checkpoint a session worker may store (bytes; larger saves get a 413). */
  CHECKPOINT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(512 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  /** How often built-in trainers checkpoint (s, at the end of an epoch; 0: every epoch). */
  CHECKPOINT_EVERY_S: z.coerce.number().min(0).max(86_400).default(60),
  /**
   * Times a session whose worker was lost or moved resumes from its checkpoint before it fails.
   * Only workers that had said hello count; relaunches lost before their hello are re-queued at
   * most 10 times besides.
   */
  MAX_RESUMES: z.coerce.number().int().min(0).max(100).default(3),
  /**
   * A session running longer than this (s) is checkpointed, stopped and resumed on a
   * `node.labels.priority==low` node (the paper's 5 hours); 0 never moves one.
   */
  MOVE_AFTER_S: z.coerce
    .number()
    .min(0)
    .default(5 * 3600),
  /** How often running sessions are checked against MOVE_AFTER_S (ms). */
  MOVE_CHECK_MS: z.coerce.number().int().min(50).default(15_000),
  /** Grace for a moved worker to write its checkpoint and exit before it is killed (ms). */
  MOVE_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /**
   * Keep the built-in trainer warm (modules loaded) for the next CPU training session: one
   * local process in local mode; in swarm mode one spare container on every ready node (needs
   * HANDLER_WS_URL, where the spares wait for their session).
   */
  WARM_TRAINER: envBool.default(true),
  /** PATH and HOME handed to local worker processes (the rest of the env is the contract's). */
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),
  /**
   * The Redis URL the built-in trainer gets (its own ACL user: datasets and models only); with
   * TRAINER_REDIS_PASSWORD_FILE, that file's password. Unset: REDIS_URL, allowed only while it
   * carries no credentials. External workers get no Redis URL at all (docs/security.md).
   */
  TRAINER_REDIS_URL: z.string().url().optional(),
  TRAINER_REDIS_PASSWORD_FILE: z.string().optional(),
  /** The same for the built-in batch inference (datasets, models, its queue). */
  BATCH_INFER_REDIS_URL: z.string().url().optional(),
  BATCH_INFER_REDIS_PASSWORD_FILE: z.string().optional(),
});

export type HandlerConfig = Readonly<
  z.infer<typeof schema> & {
    internalToken: string;
    /** the Redis URLs of the built-in workers, credentials merged in */
    workerRedis: { trainer: string; 'batch-infer': string };
  }
>;

export function loadConfig(env: Record<string, string | undefined>): HandlerConfig {
  const c = parseEnv(schema, env);
  const internalToken = readInternalToken(c);
  const workerRedis = {
    trainer: workerRedisUrl(c, 'TRAINER', c.TRAINER_REDIS_URL, c.TRAINER_REDIS_PASSWORD_FILE),
    'batch-infer': workerRedisUrl(
      c,
      'BATCH_INFER',
      c.BATCH_INFER_REDIS_URL,
      c.BATCH_INFER_REDIS_PASSWORD_FILE,
    ),
  };
  return Object.freeze({ ...c, internalToken, workerRedis });
}

/**
 * A built-in worker's Redis URL. Falling back to the handler's own URL is allowed only for
 * a Redis without authentication (tests): a worker must never log in as the event handler.
 */
function workerRedisUrl(
  c: { REDIS_URL: string },
  name: string,
  url: string | undefined,
  passwordFile: string | undefined,
): string {
  if (!url) {
    const own = new URL(c.REDIS_URL);
    if (own.username || own.password) {
      throw new ConfigError([
        `${name}_REDIS_URL is required when REDIS_URL has credentials: built-in workers log in as their own Redis user`,
      ]);
    }
    return c.REDIS_URL;
  }
  if (!passwordFile) return url;
  let password: string;
  try {
    password = readFileSync(passwordFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([
      `${name}_REDIS_PASSWORD_FILE: cannot read ${passwordFile}: ${(err as Error).message}`,
    ]);
  }
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}
