/**
 * One-off optimiser process (forked by optimizer.ts, lowered priority): builds the
 * onnxruntime-optimised form of a model, runs both forms on the validation rows and
 * times both at batch 1 and at the best batch. A process of its own keeps the blocking
 * session.run calls and a crash in native code away from the serving process.
 *
 * Both graphs are timed with session-time optimisation off, so the figures compare the
 * stored graphs themselves: the original as uploaded against the optimised one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { bestBatch, maxAbsDiff } from './optimize-check.js';
import type { LatencyFigures, OptimizeAnswer, OptimizeRequest } from './optimize-protocol.js';
import type { ModelIO, TensorSpec } from '../hosting/protocol.js';
import { rowsToTensor } from '../tensors/rows-to-tensor.js';
import { ELEM, isElemType, type TensorMap, type TypedData } from '../tensors/tensors.js';
import { feeds, medianRunMs } from '../tensors/ort-timing.js';

const plain = {
  graphOptimizationLevel: 'disabled',
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
} as const;

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

/** Seeded inputs in [0, 1) (integers 0..9) for models without validation data. */
function syntheticInputs(io: ModelIO, rows: number): TensorMap {
  let a = 12345;
  const next = () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 2 ** 32;
  };
  const out: TensorMap = {};
  for (const s of io.inputs) {
    const dims = s.shape.map((d, i) => (d > 0 ? d : i === 0 ? rows : 1));
    const n = dims.reduce((x, y) => x * y, 1);
    const info = ELEM[s.type];
    const data = info.make(n);
    for (let i = 0; i < n; i++) {
      const v = info.integer ? Math.floor(next() * 10) : next();
      (data as unknown as (number | bigint)[])[i] = info.bigint ? BigInt(v) : v;
    }
    out[s.name] = { type: s.type, dims, data };
  }
  return out;
}

/** Rows [0, n) of every input, repeating rows when there are fewer than n. */
function takeRows(inputs: TensorMap, n: number): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(inputs)) {
    const have = t.dims[0] ?? 1;
    const per = t.data.length / have;
    const data = ELEM[t.type].make(n * per);
    for (let r = 0; r < n; r++) {
      const src = t.data.subarray((r % have) * per, ((r % have) + 1) * per);
      (data as Float32Array).set(src as Float32Array, r * per);
    }
    out[name] = { type: t.type, dims: [n, ...t.dims.slice(1)], data };
  }
  return out;
}

async function run(s: ort.InferenceSession, inputs: TensorMap): Promise<TensorMap> {
  const r = await s.run(feeds(inputs));
  const out: TensorMap = {};
  for (const [k, t] of Object.entries(r)) {
    if (isElemType(t.type)) out[k] = { type: t.type, dims: [...t.dims], data: t.data as TypedData };
  }
  return out;
}

async function optimize(req: OptimizeRequest): Promise<OptimizeAnswer> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-opt-'));
  const original = await ort.InferenceSession.create(req.bytes, plain);
  let optimizedSession: ort.InferenceSession | undefined;
  try {
    const file = join(dir, 'optimized.onnx');
    const maker = await ort.InferenceSession.create(req.bytes, {
      graphOptimizationLevel: req.level,
      intraOpNumThreads: 1,
      optimizedModelFilePath: file,
    });
    await maker.release();
    const optimized = new Uint8Array(readFileSync(file));
    optimizedSession = await ort.InferenceSession.create(optimized, plain);

    const io = signature(original);
    const fixedBatch = io.inputs[0]?.shape[0] ?? -1;
    const inputs = req.rows
      ? rowsToTensor(req.model, io, req.rows)
      : syntheticInputs(io, fixedBatch > 0 ? fixedBatch : 64);
    const rows = Object.values(inputs)[0]?.dims[0] ?? 0;

    const parts: TensorMap[] = [];
    if (fixedBatch > 0) {
      if (rows < fixedBatch) parts.push(takeRows(inputs, fixedBatch));
      for (let at = 0; at + fixedBatch <= rows; at += fixedBatch)
        parts.push(sliceInputs(inputs, at, fixedBatch));
    } else {
      for (let at = 0; at < rows; at += 64)
        parts.push(sliceInputs(inputs, at, Math.min(64, rows - at)));
    }
    let diff = 0;
    for (const part of parts)
      diff = Math.max(
        diff,
        maxAbsDiff(await run(original, part), await run(optimizedSession, part)),
      );

    const sizes = fixedBatch > 0 ? [fixedBatch] : req.batches;
    const before = new Map<number, number>();
    for (const b of sizes)
      before.set(b, await medianRunMs(original, takeRows(inputs, b), req.timeMs));
    const best = bestBatch(before);
    const b1 = sizes.includes(1) ? 1 : sizes[0]!;
    const latencyBeforeMs: LatencyFigures = { b1: before.get(b1)!, best: before.get(best)! };
    const latencyAfterMs: LatencyFigures = {
      b1: await medianRunMs(optimizedSession, takeRows(inputs, b1), req.timeMs),
      best: await medianRunMs(optimizedSession, takeRows(inputs, best), req.timeMs),
    };
    return {
      ok: true,
      optimized,
      maxAbsDiff: diff,
      rowsChecked: rows,
      bestBatch: best,
      latencyBeforeMs,
      latencyAfterMs,
    };
  } finally {
    await original.release();
    await optimizedSession?.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sliceInputs(inputs: TensorMap, at: number, n: number): TensorMap {
  const out: TensorMap = {};
  for (const [k, t] of Object.entries(inputs)) {
    const per = t.data.length / (t.dims[0] ?? 1);
    out[k] = {
      type: t.type,
      dims: [n, ...t.dims.slice(1)],
      data: t.data.slice(at * per, (at + n) * per),
    };
  }
  return out;
}

process.once('message', (raw) => {
  optimize(raw as OptimizeRequest)
    .catch((err: unknown): OptimizeAnswer => ({ ok: false, message: (err as Error).message }))
    .then((answer) => process.send?.(answer, () => process.exit(0)))
    .catch(() => process.exit(1));
});
process.on('disconnect', () => process.exit(0));
