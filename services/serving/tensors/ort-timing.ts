/**
 * Running and timing a model off the request path, as the optimiser and the evaluator both
 * do in their own processes: the same warm-up and the same stopping rule, so their latency
 * figures compare.
 */
import * as ort from 'onnxruntime-node';
import { median } from '../optimisation/optimize-check.js';
import type { TensorMap } from './tensors.js';

/** onnxruntime feeds for a TensorMap (no copy: the tensors view the same data). */
export const feeds = (m: TensorMap): Record<string, ort.Tensor> =>
  Object.fromEntries(
    Object.entries(m).map(([k, t]) => [k, new ort.Tensor(t.type, t.data as never, t.dims)]),
  );

/**
 * Median ms per run of `inputs`, after one warm-up run; runs until the budget is spent, at
 * least 5 times and at most 200.
 */
export async function medianRunMs(
  s: ort.InferenceSession,
  inputs: TensorMap,
  budgetMs: number,
): Promise<number> {
  const f = feeds(inputs);
  await s.run(f);
  const times: number[] = [];
  const until = performance.now() + budgetMs;
  while (times.length < 5 || (performance.now() < until && times.length < 200)) {
    const t0 = performance.now();
    await s.run(f);
    times.push(performance.now() - t0);
  }
  return median(times);
}
