import { z } from 'zod';
import { parseEnv, workerEnv } from '../../shared/index.js';

/** The worker contract (docs/workers.md) as a trainer reads it. */
const schema = workerEnv.extend({
  SWARMML_TRAINER: z.enum(['mlp', 'softmax']),
  /** Seconds between checkpoints (taken at the end of an epoch); 0: every epoch. */
  SWARMML_CHECKPOINT_EVERY_S: z.coerce.number().min(0).default(60),
});

export type TrainerConfig = Readonly<z.infer<typeof schema>>;

export function loadConfig(env: Record<string, string | undefined>): TrainerConfig {
  return parseEnv(schema, env);
}
