import { z } from 'zod';
import { baseEnv, parseEnv } from '../../shared/index.js';

/** The worker contract (services/event-handler/session-env.ts) as a batch-inference worker reads it. */
const schema = baseEnv.extend({
  SWARMML_SESSION: z.string().min(1),
  SWARMML_MODEL: z.string().min(1),
  SWARMML_DATASET: z.string().regex(/^[^@]+@\d+$/, 'expected NAME@VERSION'),
  /** the generation to score with; production when unset */
  SWARMML_GENERATION: z.coerce.number().int().min(1).optional(),
  SWARMML_PARAMS: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as Record<string, unknown>;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'SWARMML_PARAMS is not JSON' });
        return z.NEVER;
      }
    }),
  SWARMML_TIME_BUDGET_S: z.coerce.number().int().min(1).default(3600),
  SWARMML_HANDLER_URL: z.string().min(1),
  SWARMML_TOKEN: z.string().min(1),
});

export type BatchInferConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): BatchInferConfig {
  return parseEnv(schema, env);
}
