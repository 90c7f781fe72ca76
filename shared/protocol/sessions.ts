import { z } from 'zod';
import { ModelName } from './ids.js';

/** `name` or `name@version` (latest when no version). */
export const DatasetRef = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}(@[1-9][0-9]*)?$/, 'expected NAME or NAME@VERSION')
  .describe('dataset name, optionally @version (latest when omitted)');

export function parseDatasetRef(ref: string): { name: string; version?: number } {
  const [name, v] = ref.split('@');
  return { name: name ?? '', ...(v ? { version: Number(v) } : {}) };
}

export { ModelName } from './ids.js';

/** Options a session may ask of its container; checked against the allow-list (403 otherwise). */
export const ContainerRequest = z
  .object({
    image: z.string().min(1).max(256).optional(),
    command: z.array(z.string().max(4096)).max(64).optional(),
    mounts: z
      .array(
        z
          .object({
            type: z.string().optional(),
            source: z.string().optional(),
            target: z.string().optional(),
          })
          .passthrough(),
      )
      .optional(),
    privileged: z.boolean().optional(),
    networkMode: z.string().optional(),
    capAdd: z.array(z.string()).optional(),
  })
  .strict();

export const CreateSessionRequest = z
  .object({
    kind: z.enum(['train', 'batch-infer']).default('train'),
    model: ModelName,
    dataset: DatasetRef,
    trainer: z.enum(['mlp', 'softmax', 'external']).default('mlp'),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('trainer parameters (see docs/sessions.md)'),
    device: z.enum(['cpu', 'gpu']).default('cpu'),
    priority: z.number().int().min(1).max(100).default(50).describe('1 = most urgent'),
    timeBudgetS: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    /** For batch-infer: the model generation to score with (production when omitted). */
    generation: z.number().int().min(1).optional(),
    container: ContainerRequest.optional(),
    /** What started it: 'api' or a retraining trigger. */
    trigger: z.string().max(200).optional(),
  })
  .strict();
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;
export type CreateSessionInput = z.input<typeof CreateSessionRequest>;

/**
 * The BullMQ job on `QUEUES.sessions`: a session's id and its request, parsed and checked
 * once where it entered (the gateway's route, the listener's retraining trigger). The
 * event-handler only checks this shape; a job that fails it is failed for good, unretried.
 */
export const SessionJob = z.object({
  sessionId: z.string().min(1),
  request: CreateSessionRequest,
});
export type SessionJob = z.infer<typeof SessionJob>;
