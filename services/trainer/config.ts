import { z } from 'zod';
import { parseEnv, workerEnv } from '../../shared/index.js';

/** The worker contract (docs/workers.md) as a trainer reads it. */
const schema = workerEnv.extend({
  SWARMML_TRAINER: z.enum(['mlp', 'softmax']),
});

export type TrainerConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): TrainerConfig {
  return parseEnv(schema, env);
}
