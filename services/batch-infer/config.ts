import { z } from 'zod';
import { parseEnv, workerEnv } from '../../shared/index.js';

/** The worker contract (docs/workers.md) as a batch-inference worker reads it. */
const schema = workerEnv.extend({
  /** the generation to score with; production when unset */
  SWARMML_GENERATION: z.coerce.number().int().min(1).optional(),
});

export type BatchInferConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): BatchInferConfig {
  return parseEnv(schema, env);
}
