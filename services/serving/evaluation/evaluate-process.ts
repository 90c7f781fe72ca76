/**
 * One-off evaluation process (forked by candidate-evaluator.ts at lowered priority): runs a
 * candidate's ONNX, and production's, on the held-out rows, measures the figures and times
 * the candidate at batch 1 and at the best of a few batch sizes. A process of its own keeps
 * the blocking session.run calls and a crash in native code away from the serving process.
 */
import * as ort from 'onnxruntime-node';
import { bestBatch } from '../optimisation/optimize-check.js';
import type { ModelIO, TensorSpec } from '../hosting/protocol.js';
import { rowsToTensor } from '../tensors/rows-to-tensor.js';
import { ELEM, isElemType, type TensorMap, type TypedData } from '../tensors/tensors.js';
import { feeds, medianRunMs } from '../tensors/ort-timing.js';
import type { EvaluateAnswer, EvaluateRequest } from './evaluate-protocol.js';
import {
  baselineOf,
  pairedFigures,
  scoreOutput,
  type ModelOutput,
  type Scored,
} from './score-outputs.js';

const SESSION = {
  graphOptimizationLevel: 'extended',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
} as const;

/** Rows per run when scoring (a fixed-batch model takes its own size). */
const CHUNK = 256;

function signature(s: ort.InferenceSession): ModelIO {
  const spec = (m: ort.InferenceSession.ValueMetadata): TensorSpec => {
    if (!m.isTensor || !isElemType(m.type)) throw new Error(`"${m.name}" is not a plain tensor`);
    return {
      name: m.name,
      type: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  };
  return { inputs: s.inputMetadata.map(spec), outputs: s.outputMetadata.map(spec) };
}

/** The output the figures are read from: `probabilities`, else `predictions`, else the first. */
function pickOutput(io: ModelIO): TensorSpec {
  const out =
    io.outputs.find((o) => o.name === 'probabilities') ??
    io.outputs.find((o) => o.name === 'predictions') ??
    io.outputs[0];
  if (!out) throw new Error('the model has no outputs');
  return out;
}

/** Rows [at, at+n) of every input; rows past the end repeat the last ones (fixed batches). */
function slice(inputs: TensorMap, at: number, n: number): TensorMap {
  const out: TensorMap = {};
  for (const [k, t] of Object.entries(inputs)) {
    const have = t.dims[0] ?? 0;
    const per = have ? t.data.length / have : 0;
    const data = ELEM[t.type].make(n * per);
    for (let r = 0; r < n; r++) {
      const src = Math.min(at + r, have - 1);
      (data as Float32Array).set(
        t.data.subarray(src * per, (src + 1) * per) as Float32Array,
        r * per,
      );
    }
    out[k] = { type: t.type, dims: [n, ...t.dims.slice(1)], data };
  }
  return out;
}

async function open(bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, SESSION);
  } catch (err) {
    throw new Error(`onnxruntime cannot load the model: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Runs a model over every row; answers the chosen output, row by row. */
async function runAll(
  s: ort.InferenceSession,
  req: EvaluateRequest,
): Promise<{ out: ModelOutput; inputs: TensorMap; fixed: number }> {
  const io = signature(s);
  const spec = pickOutput(io);
  const inputs = rowsToTensor(req.model, io, req.rows);
  const rows = req.rows.rows;
  const fixed = io.inputs[0]?.shape[0] ?? -1;
  const step = fixed > 0 ? fixed : CHUNK;
  const parts: { data: TypedData; rows: number }[] = [];
  for (let at = 0; at < rows; at += step) {
    const n = Math.min(step, rows - at);
    const r = await s.run(feeds(slice(inputs, at, fixed > 0 ? fixed : n)));
    const t = r[spec.name];
    if (!t) throw new Error(`the model answered without "${spec.name}"`);
    parts.push({ data: t.data as TypedData, rows: n });
  }
  const integer = ELEM[spec.type].integer;
  // A fixed batch answers for its padding rows too: keep only the real ones.
  const width = parts[0] ? parts[0].data.length / (fixed > 0 ? fixed : parts[0].rows) : 0;
  const values = new Float64Array(rows * width);
  let o = 0;
  for (const p of parts) {
    for (let i = 0; i < p.rows * width; i++) values[o++] = Number(p.data[i]);
  }
  return {
    out: { name: spec.name, values, width, integer },
    inputs,
    fixed,
  };
}

async function evaluate(req: EvaluateRequest): Promise<EvaluateAnswer> {
  if (req.rows.rows === 0) throw new Error('the dataset version has no held-out rows');
  const labels = req.rows.labels;
  const cand = await open(req.candidate);
  let candScored: Scored;
  let latencyMs;
  try {
    const { out, inputs, fixed } = await runAll(cand, req);
    candScored = scoreOutput(req.task, out, labels, req.classes, req.labelNames);
    const sizes = fixed > 0 ? [fixed] : req.batches;
    const times = new Map<number, number>();
    for (const b of sizes) times.set(b, await medianRunMs(cand, slice(inputs, 0, b), req.timeMs));
    const best = bestBatch(times);
    const b1 = sizes.includes(1) ? 1 : sizes[0]!;
    latencyMs = {
      b1: times.get(b1)!,
      best: times.get(best)!,
      bestBatch: best,
      rowsPerSec: (best / times.get(best)!) * 1000,
    };
  } finally {
    await cand.release();
  }
  let production: (Scored & { error?: undefined }) | { error: string } | null = null;
  if (req.production) {
    try {
      const prod = await open(req.production);
      try {
        const { out } = await runAll(prod, req);
        production = scoreOutput(req.task, out, labels, req.classes, req.labelNames);
      } finally {
        await prod.release();
      }
    } catch (err) {
      production = { error: (err as Error).message };
    }
  }
  return {
    ok: true,
    candidate: candScored.figures,
    latencyMs,
    baseline: baselineOf(req.task, req.trainLabels, labels, req.classes, req.labelNames),
    production: production && 'figures' in production ? production.figures : production,
    ...(production && 'figures' in production
      ? { paired: pairedFigures(req.task, candScored, production, labels, req.bootstrap) }
      : {}),
  };
}

process.once('message', (raw) => {
  evaluate(raw as EvaluateRequest)
    .catch((err: unknown): EvaluateAnswer => ({ ok: false, message: (err as Error).message }))
    .then((answer) => process.send?.(answer, () => process.exit(0)))
    .catch(() => process.exit(1));
});
process.on('disconnect', () => process.exit(0));
