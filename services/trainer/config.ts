import { z } from 'zod';
import { baseEnv, parseEnv } from '../../shared/index.js';

/** The worker contract (docs/workers.md): what the event handler passes to a trainer. */
const schema = baseEnv.extend({
  SWARMML_SESSION: z.string().min(1),
  SWARMML_MODEL: z.string().min(1),
  SWARMML_DATASET: z.string().regex(/^[^@]+@\d+$/, 'expected NAME@VERSION'),
  SWARMML_TRAINER: z.enum(['mlp', 'softmax']),
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
  SWARMML_HANDLER_URL: z.string().min(1),
  SWARMML_TOKEN: z.string().min(1),
});

export type TrainerConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): TrainerConfig {
  return parseEnv(schema, env);
}
