/**
 * Messages between the serving process and its model workers: model processes (IPC with
 * `serialization: 'advanced'`, so typed arrays cross as typed arrays, not JSON) or model
 * threads (postMessage; their runs go through shared memory, see shared-slots.ts, and are
 * turned back into these messages). Every request carries an `id`; the worker answers each
 * with `ok` or `fail`.
 */
import { z } from 'zod';
import { ELEM, type ElemType, type TypedData } from '../tensors/tensors.js';

const elemType = z.enum(Object.keys(ELEM) as [ElemType, ...ElemType[]]);

export const WireTensor = z.object({
  type: elemType,
  dims: z.array(z.number().int().nonnegative()),
  data: z.custom<TypedData>(
    (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
    'typed array',
  ),
});

export const SessionOptions = z.object({
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']),
  intraOpNumThreads: z.number().int().nonnegative(),
  /** whether idle onnxruntime threads spin waiting for work */
  spinning: z.boolean(),
  /**
   * time a few thread and execution-mode settings on each loaded generation and keep the
   * quickest (intraOpNumThreads is then one of the candidates, not a fixed choice)
   */
  calibrate: z.boolean().optional(),
  /** time one-row runs of the loaded generation even without calibrating (hosting `auto`) */
  timeRun: z.boolean().optional(),
});
export type SessionOptions = z.infer<typeof SessionOptions>;

/** The session settings a generation was loaded with, and what a one-row run took with them. */
export const SessionChoice = z.object({
  intraOpNumThreads: z.number().int().nonnegative(),
  interOpNumThreads: z.number().int().nonnegative(),
  executionMode: z.enum(['sequential', 'parallel']),
  /** median µs of a one-row run during the calibration (0 when not calibrated) */
  runUs: z.number().nonnegative(),
  /** every candidate's median µs, `<intra>x<inter>:<mode>` → µs */
  candidates: z.record(z.string(), z.number()).optional(),
  /** how the model group is hosted: a process of its own, a thread of serving, or inline */
  hosting: z.enum(['process', 'thread', 'inline']).optional(),
});
export type SessionChoice = z.infer<typeof SessionChoice>;

export const ToWorker = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('load'),
    id: z.number(),
    model: z.string(),
    gen: z.number().int(),
    bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes'),
    options: SessionOptions,
  }),
  z.object({ t: z.literal('unload'), id: z.number(), model: z.string(), gen: z.number().int() }),
  z.object({
    t: z.literal('run'),
    id: z.number(),
    model: z.string(),
    gen: z.number().int(),
    inputs: z.record(z.string(), WireTensor),
  }),
  /** containment tests: make the worker fail as a faulty model would */
  z.object({ t: z.literal('fault'), id: z.number(), how: z.enum(['throw', 'oom']) }),
]);
export type ToWorker = z.infer<typeof ToWorker>;

export const TensorSpec = z.object({
  name: z.string(),
  type: elemType,
  /** -1 marks a dynamic dimension */
  shape: z.array(z.number().int()),
});
export type TensorSpec = z.infer<typeof TensorSpec>;

export const ModelIO = z.object({ inputs: z.array(TensorSpec), outputs: z.array(TensorSpec) });
export type ModelIO = z.infer<typeof ModelIO>;

export const WireError = z.object({
  name: z.string(),
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});

export const FromWorker = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), pid: z.number() }),
  z.object({
    t: z.literal('ok'),
    id: z.number(),
    io: ModelIO.optional(),
    /** a load's session settings */
    session: SessionChoice.optional(),
    outputs: z.record(z.string(), WireTensor).optional(),
  }),
  z.object({ t: z.literal('fail'), id: z.number(), error: WireError }),
]);
export type FromWorker = z.infer<typeof FromWorker>;
