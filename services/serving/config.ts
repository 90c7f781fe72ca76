import { z } from 'zod';
import { baseEnv, envBool, parseEnv } from '../../shared/index.js';
import { PipelineDefs } from './pipelines.js';

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

const schema = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  HOST: z.string().default('127.0.0.1'),
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
  /** per-model batching, JSON `{"<model>": {"maxBatch": 8, "maxDelayMs": 1}}` */
  BATCH_OVERRIDES: jsonVar(z.record(z.string(), BatchOverride), '{}'),
  GRAPH_OPT_LEVEL: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /** onnxruntime threads per model process; 1 lets processes run side by side on few cores */
  INTRA_OP_THREADS: z.coerce.number().int().min(0).default(1),
  /** keep one warm spare model process, so a crashed one is replaced without a cold start */
  SPARE_PROCESS: envBool.default(true),
  /** generations kept loaded for /versions/<v> requests, per model */
  PINNED_MAX: z.coerce.number().int().min(1).default(2),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 ** 2),
  /** pipelines (JSON list, see pipelines.ts), served as models */
  PIPELINES: jsonVar(PipelineDefs, '[]'),
});

export type ServingConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): ServingConfig {
  return parseEnv(schema, env);
}
