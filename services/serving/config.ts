import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { baseEnv, envBool, parseEnv } from '../../shared/index.js';
import { PipelineDefs } from './hosting/pipelines.js';

/** A JSON-valued variable, parsed and then checked against `schema`. */
function jsonVar<S extends z.ZodType>(schema: S, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const BatchOverride = z.object({
  maxBatch: z.number().int().min(1).optional(),
  maxDelayMs: z.number().min(0).optional(),
});

const HostingMode = z.enum(['auto', 'process', 'thread', 'inline']);

const schema = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  HOST: z.string().default('127.0.0.1'),
  /** a second port where clients call this replica without the gateway's hop, with the same
   * API tokens (inference only; tokens with a rate limit go through the gateway); unset: none */
  DIRECT_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  DIRECT_HOST: z.string().default('127.0.0.1'),
  /** the bootstrap admin token (or a file holding it), accepted on the direct port too */
  ADMIN_TOKEN: z.string().min(16).optional(),
  ADMIN_TOKEN_FILE: z.string().optional(),
  /** `*` serves every model in the registry (and new ones as they are promoted), or a comma list */
  MODELS: z
    .string()
    .default('*')
    .transform((v): '*' | string[] => (v.trim() === '*' ? '*' : list(v))),
  /** models sharing one process, `a+b,c+d`; every other model gets a process of its own */
  MODEL_GROUPS: z
    .string()
    .default('')
    .transform((v) => list(v).map((g) => g.split('+').map((m) => m.trim()))),
  /** rows per model run when the model's first dim is dynamic */
  MAX_BATCH: z.coerce.number().int().min(1).default(64),
  /** how long an idle model waits for a fuller batch (ms); 0 runs at once */
  MAX_DELAY_MS: z.coerce.number().min(0).default(0),
  /** KServe JSON bodies of at least this many bytes are decoded in a worker thread, beside the
   * HTTP thread; 0 decodes every body on the HTTP thread */
  DECODE_OFFLOAD_BYTES: z.coerce.number().int().min(0).default(8192),
  /** batches of one model in flight at once: 2 lets the next batch gather while one runs */
  MAX_INFLIGHT_BATCHES: z.coerce.number().int().min(1).max(16).default(1),
  /** per-model batching, JSON `{"<model>": {"maxBatch": 8, "maxDelayMs": 1}}` */
  BATCH_OVERRIDES: jsonVar(z.record(z.string(), BatchOverride), '{}'),
  GRAPH_OPT_LEVEL: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /** onnxruntime threads per model process; 1 lets processes run side by side on few cores */
  INTRA_OP_THREADS: z.coerce.number().int().min(0).default(1),
  /** let idle onnxruntime threads spin for work: off, since spinning threads take the cores the
   * HTTP thread and the other model processes need (PaddleOCR rec on 2 cores: +20% req/s off) */
  INTRA_OP_SPINNING: envBool.default(false),
  /** time a few onnxruntime thread and execution-mode settings on each loaded generation (one
   * row, up to 150 ms each) and serve with the quickest; recorded on the generation as
   * `servingSession` (off: INTRA_OP_THREADS, sequential; loads take longer with it on) */
  SESSION_CALIBRATE: envBool.default(false),
  /** keep one warm spare model worker (per hosting mode in use), so a crashed one is replaced
   * without a cold start */
  SPARE_PROCESS: envBool.default(true),
  /** how model groups are hosted: `process` (a child process each: a native crash takes only
   * that group), `thread` (a worker thread of serving, tensors through shared memory: cheaper
   * per call, contains JS exceptions and heap exhaustion but not native crashes), `inline`
   * (on serving's own thread: no hand-off, no isolation; for micro-models, never chosen by
   * `auto`), or `auto` (a thread, moved to a process when a one-row run takes
   * HOSTING_PROCESS_AT_RUN_US or more) */
  HOSTING_MODE: HostingMode.default('auto'),
  /** per-model hosting, JSON `{"<model>": "process"}`; a group takes its first model's */
  HOSTING_OVERRIDES: jsonVar(z.record(z.string(), HostingMode), '{}'),
  /** `auto`: a one-row run at least this long (µs) goes to a process, where the hop costs
   * little against the model and the isolation is worth it */
  HOSTING_PROCESS_AT_RUN_US: z.coerce.number().int().min(0).default(2000),
  /** V8 heap cap of a model thread (MB): exhausting it ends that thread, not serving */
  THREAD_HEAP_MB: z.coerce.number().int().min(16).default(1024),
  /** generations kept loaded for /versions/<v> requests, per model */
  PINNED_MAX: z.coerce.number().int().min(1).default(2),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 ** 2),
  /** pipelines (JSON list, see pipelines.ts), served as models */
  PIPELINES: jsonVar(PipelineDefs, '[]'),
  /** score batch-inference chunks from the `batch-infer` queue */
  BATCH_WORKER: envBool.default(true),
  /** batch-inference chunks scored at once */
  BATCH_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  /** a replica silent this long loses its chunk to another (ms) */
  BATCH_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /** evaluate candidate generations from the `evaluations` queue (held-out rows, baseline, latency) */
  EVALUATE: envBool.default(true),
  /** candidate evaluations run at once per replica (each a child process at lowered priority) */
  EVALUATE_CONCURRENCY: z.coerce.number().int().min(1).default(1),
  /** held-out rows an evaluation scores at most (the first ones of the split) */
  EVALUATE_MAX_ROWS: z.coerce.number().int().min(1).default(20_000),
  /** niceness of the evaluation processes (0..19): above 0 they yield to request serving */
  EVALUATE_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** build, check and time an optimised graph when a generation is promoted */
  OPTIMIZE_ON_PROMOTION: envBool.default(true),
  /** onnxruntime graph optimisation level of the stored optimised form ('all' adds CPU-specific layouts) */
  OPTIMIZE_LEVEL: z.enum(['basic', 'extended', 'all']).default('extended'),
  /** largest output difference (absolute) the optimised form may show on validation rows */
  OPTIMIZE_TOLERANCE: z.coerce.number().min(0).default(1e-4),
  /** validation rows the optimised form is checked on */
  OPTIMIZE_ROWS: z.coerce.number().int().min(1).default(256),
  /** timing budget per batch size and graph (ms) */
  OPTIMIZE_TIME_MS: z.coerce.number().int().min(1).default(300),
  /** serve a generation's optimised form once it was accepted */
  SERVE_OPTIMIZED: envBool.default(true),
  /** watch served inputs for drift from the training data */
  DRIFT: envBool.default(true),
  /** rows in the drift window */
  DRIFT_WINDOW: z.coerce.number().int().min(10).default(1000),
  DRIFT_BINS: z.coerce.number().int().min(2).max(255).default(10),
  /** mean PSI that raises a serving.drift event */
  DRIFT_THRESHOLD: z.coerce.number().positive().default(0.2),
  /** mean PSI under which the alarm re-arms (default: half the threshold) */
  DRIFT_CLEAR: z.coerce.number().min(0).optional(),
  /** rows needed before a drift score is reported */
  DRIFT_MIN_ROWS: z.coerce.number().int().min(1).default(200),
  /** share of requests the drift monitor looks at */
  DRIFT_SAMPLE: z.coerce.number().min(0).max(1).default(1),
  DRIFT_CHECK_MS: z.coerce.number().int().min(10).default(1000),
  /** how often online counters and prediction records are written to Redis (ms) */
  ONLINE_FLUSH_MS: z.coerce.number().int().min(10).max(10_000).default(200),
  /** how long a prediction record waits for its ground truth (seconds) */
  PREDICTION_TTL_S: z.coerce.number().int().min(60).default(604_800),
  /** re-read every served model's rollout and labels this often, besides on each change (ms) */
  ROLLOUT_REFRESH_MS: z.coerce.number().int().min(100).default(5000),
  /** mirrored (shadow) requests running at once per model */
  SHADOW_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});

export type ServingConfig = Readonly<z.infer<typeof schema> & { adminToken: string | undefined }>;

export function loadConfig(env: Record<string, string | undefined>): ServingConfig {
  const c = parseEnv(schema, env);
  // Read only where the direct port may need it: elsewhere serving holds no admin secret.
  const adminToken =
    c.DIRECT_PORT === undefined
      ? undefined
      : (c.ADMIN_TOKEN ??
        (c.ADMIN_TOKEN_FILE ? readFileSync(c.ADMIN_TOKEN_FILE, 'utf8').trim() : undefined));
  return Object.freeze({ ...c, adminToken });
}
