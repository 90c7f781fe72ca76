import { z } from 'zod';
import { BadInput } from '../errors.js';

const int = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be an integer` })
    .min(min, { error: `${field} must be at least ${min}` })
    .max(max, { error: `${field} must be at most ${max}` });

/** A number between two bounds, each inclusive (`min`/`max`) or not (`gt`/`lt`). */
const real = (
  field: string,
  low: { gt: number } | { min: number },
  high: { lt: number } | { max: number },
) => {
  const n = z.number({ error: `${field} must be a number` });
  const above =
    'gt' in low
      ? n.gt(low.gt, { error: `${field} must be greater than ${low.gt}` })
      : n.min(low.min, { error: `${field} must be at least ${low.min}` });
  return 'lt' in high
    ? above.lt(high.lt, { error: `${field} must be less than ${high.lt}` })
    : above.max(high.max, { error: `${field} must be at most ${high.max}` });
};

/** Largest hidden layer; 4096² weights already take 64 MiB. */
export const MAX_HIDDEN_UNITS = 4096;
export const MAX_HIDDEN_LAYERS = 6;

/**
 * What a user may ask of a built-in trainer. Defaults follow the usual starting points for
 * small tabular and image classifiers; learningRate's default depends on the optimizer.
 */
export const TrainerParamsSchema = z
  .object({
    /** `softmax`: multinomial logistic regression; `mlp`: ReLU hidden layers then softmax. */
    trainer: z.enum(['softmax', 'mlp'], { error: "trainer must be 'softmax' or 'mlp'" }),
    /** Hidden layer widths, input side first (mlp only). @defaultValue [128] for mlp */
    hidden: z
      .array(int('hidden[]', 1, MAX_HIDDEN_UNITS), { error: 'hidden must be an array of sizes' })
      .max(MAX_HIDDEN_LAYERS, { error: `hidden may have at most ${MAX_HIDDEN_LAYERS} layers` })
      .optional(),
    /** @defaultValue 20 */
    epochs: int('epochs', 1, 1000).default(20),
    /** @defaultValue 64 */
    batchSize: int('batchSize', 1, 8192).default(64),
    /** @defaultValue 'adam' */
    optimizer: z
      .enum(['sgd', 'adam'], { error: "optimizer must be 'sgd' or 'adam'" })
      .default('adam'),
    /** Step size, in (0, 10]. @defaultValue 1e-3 for adam, 0.05 for sgd */
    learningRate: real('learningRate', { gt: 0 }, { max: 10 }).optional(),
    /** SGD momentum, in [0, 1). @defaultValue 0.9 */
    momentum: real('momentum', { min: 0 }, { lt: 1 }).default(0.9),
    /** L2 penalty on weights (not biases), in [0, 1). @defaultValue 0 */
    l2: real('l2', { min: 0 }, { lt: 1 }).default(0),
    /** Seeds initialisation, the validation split and shuffling. @defaultValue 42 */
    seed: int('seed', 0, 2 ** 32 - 1).default(42),
    /** Share of the rows held out for validation, in (0, 0.5]. @defaultValue 0.2 */
    validationFraction: real('validationFraction', { gt: 0 }, { max: 0.5 }).default(0.2),
    /**
     * Input scaling, fitted on the training rows and exported into the ONNX graph.
     * `auto`: `standard` for tabular data, a fixed 1/255 for image pixels. @defaultValue 'auto'
     */
    normalize: z
      .enum(['auto', 'standard', 'minmax', 'none'], {
        error: "normalize must be 'auto', 'standard', 'minmax' or 'none'",
      })
      .default('auto'),
    /**
     * What stands in for a missing feature value (a blank cell, NaN), per feature, fitted on
     * the training rows and exported into the ONNX graph: the `median` or `mean` of the
     * feature's observed values, or `zero`. @defaultValue 'median'
     */
    impute: z
      .enum(['median', 'mean', 'zero'], { error: "impute must be 'median', 'mean' or 'zero'" })
      .default('median'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.trainer === 'softmax' && p.hidden && p.hidden.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['hidden'],
        message: "hidden applies only to trainer 'mlp'",
      });
    }
    if (p.trainer === 'mlp' && p.hidden?.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['hidden'],
        message: 'hidden needs at least one layer for trainer mlp',
      });
    }
  })
  .transform((p) => ({
    ...p,
    hidden: p.trainer === 'mlp' ? (p.hidden ?? [128]) : [],
    learningRate: p.learningRate ?? (p.optimizer === 'adam' ? 1e-3 : 0.05),
  }));

/** Trainer params as the user sends them (defaults not yet applied). */
export type TrainerParamsInput = z.input<typeof TrainerParamsSchema>;
/** Trainer params with every default resolved. */
export type TrainerParams = z.output<typeof TrainerParamsSchema>;

/**
 * Validates and completes trainer params. Throws BadInput whose message names every bad field
 * and whose details list `{path, message}` per problem.
 */
export function parseTrainerParams(input: unknown): TrainerParams {
  const r = TrainerParamsSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
  const text = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  throw new BadInput(`invalid trainer params: ${text}`, { issues });
}
