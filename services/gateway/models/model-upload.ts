import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { BadInput } from '../../../shared/index.js';

const EXAMPLE = '{"valAccuracy":0.93}';

/**
 * The `metrics` an upload declares (`?metrics={"valAccuracy":0.93}`). They are recorded on the
 * generation as *reported*: the event listener decides on what the platform itself measures
 * on the dataset version's held-out rows, and flags a reported figure that overstates it.
 */
export const ReportedMetrics = z
  .string()
  .max(4000)
  .optional()
  .describe(
    `figures the uploader reports, as a JSON object of numbers, e.g. ${EXAMPLE}: recorded as reported and compared with what the platform measures, never used to decide`,
  )
  .transform((s, ctx) => {
    if (!s) return {};
    try {
      return z
        .record(z.string().min(1).max(100), z.number())
        .refine((m) => Object.keys(m).length <= 50, 'at most 50 figures')
        .parse(JSON.parse(s));
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `metrics must be a JSON object of at most 50 numbers, e.g. ${EXAMPLE}`,
      });
      return z.NEVER;
    }
  });

const DATATYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  int8: 'INT8',
  uint16: 'UINT16',
  int16: 'INT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
  float16: 'FP16',
};

export interface TensorInfo {
  name: string;
  datatype: string;
  shape: number[];
}

/**
 * Loads an uploaded ONNX file in onnxruntime to validate it and read its inputs and
 * outputs (names, KServe datatypes, shapes with -1 for symbolic dims). A file onnxruntime
 * cannot load is refused with onnxruntime's own message.
 */
export async function inspectOnnx(
  bytes: Buffer,
): Promise<{ inputs: TensorInfo[]; outputs: TensorInfo[] }> {
  if (bytes.length === 0) throw new BadInput('the model file is empty');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  } catch (err) {
    throw new BadInput(
      `onnxruntime cannot load this model: ${(err as Error).message}`,
      undefined,
      'BAD_INPUT',
    );
  }
  try {
    const info = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
      meta.map((m) => {
        if (!m.isTensor) return { name: m.name, datatype: 'BYTES', shape: [] };
        return {
          name: m.name,
          datatype: DATATYPES[m.type] ?? m.type.toUpperCase(),
          shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
        };
      });
    return { inputs: info(session.inputMetadata), outputs: info(session.outputMetadata) };
  } finally {
    await session.release();
  }
}
