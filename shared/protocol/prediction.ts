import { z } from 'zod';

/** One output tensor of a prediction, flattened row-major as in the KServe v2 protocol. */
export const PredictionOutput = z
  .object({
    name: z.string().min(1).describe('output tensor name, e.g. "probabilities"'),
    datatype: z.string().min(1).describe('KServe v2 datatype, e.g. FP32, INT64, BOOL'),
    shape: z.array(z.number().int().nonnegative()).describe('tensor shape'),
    data: z
      .union([z.array(z.number()), z.array(z.boolean())])
      .describe('tensor values, flattened row-major'),
  })
  .describe('one output tensor');
export type PredictionOutput = z.infer<typeof PredictionOutput>;

/**
 * A prediction as the delivery rules see it: what the model answered, which generation
 * answered, and whatever metadata the caller attached to the request.
 */
export const Prediction = z
  .object({
    id: z.string().min(1).describe('request id, stable across redeliveries (dedupe key)'),
    model: z.string().min(1).describe('model name'),
    generation: z.number().int().nonnegative().describe('generation that served it'),
    time: z.iso.datetime({ offset: true }).describe('when the prediction was made (ISO 8601)'),
    inputs: z
      .object({
        metadata: z.record(z.string(), z.unknown()).optional().describe('caller metadata'),
        shapes: z
          .record(z.string(), z.array(z.number().int().nonnegative()))
          .optional()
          .describe('input tensor shapes by name'),
      })
      .optional()
      .describe('what was asked (not the tensors themselves)'),
    outputs: z.array(PredictionOutput).describe('output tensors'),
  })
  .describe('a prediction, as delivery rules and formatters see it');
export type Prediction = z.infer<typeof Prediction>;
