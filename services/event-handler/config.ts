import { z } from 'zod';
import { baseEnv, envBool, parseEnv, readInternalToken } from '../../shared/index.js';

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
  /** Local mode: keep one built-in trainer warm (modules loaded) for the next session. */
  WARM_TRAINER: envBool.default(true),
  /** PATH and HOME handed to local worker processes (the rest of the env is the contract's). */
  PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  HOME: z.string().default('/tmp'),
});

export type HandlerConfig = Readonly<z.infer<typeof schema> & { internalToken: string }>;

export function loadConfig(env: Record<string, string | undefined>): HandlerConfig {
  const c = parseEnv(schema, env);
  const internalToken = readInternalToken(c);
  return Object.freeze({ ...c, internalToken });
}
