import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { baseEnv, envBool, parseEnv } from '../../shared/index.js';

const schema = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** KServe v2 / Triton gRPC port (Triton's default); 0 picks a free port. */
  SWARMML_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(8001),
  /** Bootstrap admin token, or a file holding it (Docker secret / $SWARMML_HOME/admin.token). */
  ADMIN_TOKEN: z.string().min(16).optional(),
  ADMIN_TOKEN_FILE: z.string().optional(),
  /** Serving replicas: a comma list of base URLs, or `dns:<host>:<port>` re-resolved (swarm: dns:tasks.serving:8081). */
  SERVING_UPSTREAM: z.string().default('http://127.0.0.1:8081'),
  /** A replica's answer is awaited at most this factor times the route's recent slowest one
   * (then the request is retried on another replica, as for a crashed node) ... */
  RESPONSE_DEADLINE_FACTOR: z.coerce.number().min(1).default(10),
  /** ... and never less than this (ms) ... */
  RESPONSE_DEADLINE_MIN_MS: z.coerce.number().int().min(100).default(3_000),
  /** ... nor more (ms); a route with no answer seen yet waits RESPONSE_DEADLINE_FIRST_MS. */
  RESPONSE_DEADLINE_MAX_MS: z.coerce.number().int().min(100).default(120_000),
  RESPONSE_DEADLINE_FIRST_MS: z.coerce.number().int().min(100).default(30_000),
  /** Data-intake base URL; dataset uploads stream there. */
  INTAKE_URL: z.string().url().default('http://127.0.0.1:8082'),
  /** Event-handler base URL (its WebSocket carries live events). */
  EVENT_HANDLER_URL: z.string().url().default('http://127.0.0.1:8083'),
  JSON_LIMIT: z.string().default('8mb'),
  /** Upload limit for datasets and model files, in bytes. */
  UPLOAD_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  /** Images a session may name (comma list; `*` suffix = prefix). Checked again by the event handler. */
  ALLOWED_IMAGES: z.string().default('swarmml/app:*'),
  /** Executables a local-mode session may run as its worker command (comma list; none by default). */
  ALLOWED_COMMANDS: z.string().default(''),
  /** Directory of the built dashboard; served at `/`. */
  DASHBOARD_DIR: z.string().optional(),
  /** How often the gateway stores each model's serving figures for the dashboard's history (ms). */
  SERVING_HISTORY_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  /** Folder of delivery/source plugins (JS modules); none loaded when unset. */
  PLUGINS_DIR: z.string().optional(),
  /** Deliveries in flight per gateway process. */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  /**
   * Send inference to each serving replica over one framed, multiplexed connection (the
   * serving link) rather than an HTTP exchange a request: a third of the CPU a hop costs.
   */
  SERVING_LINK: envBool.default(true),
  /** Run the deliveries consumer in this process (off: only enqueue; another gateway sends). */
  DELIVERY_WORKER: envBool.default(true),
  /** Stable MQTT client id base, unique per gateway replica (QoS 1 sessions hang on it). */
  MQTT_CLIENT_ID: z
    .string()
    .regex(/^[\w.-]{1,40}$/)
    .default(defaultClientId()),
});

/** `swarmml-<host>`: stable across restarts of one replica, distinct between replicas. */
function defaultClientId(): string {
  const host = hostname().replace(/[^\w.-]/g, '-');
  return `swarmml-${host.slice(0, 31)}`;
}

export type GatewayConfig = Readonly<z.infer<typeof schema> & { adminToken: string | undefined }>;

export function loadConfig(env: Record<string, string | undefined>): GatewayConfig {
  const c = parseEnv(schema, env);
  const adminToken =
    c.ADMIN_TOKEN ??
    (c.ADMIN_TOKEN_FILE ? readFileSync(c.ADMIN_TOKEN_FILE, 'utf8').trim() : undefined);
  return Object.freeze({ ...c, adminToken });
}
