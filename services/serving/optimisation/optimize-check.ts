/** Pure parts of optimise-on-promotion: output agreement and latency summaries. */
import type { TensorMap } from '../tensors/tensors.js';

/**
 * Largest absolute difference between two runs' outputs, over every output and element.
 * Both NaN counts as agreement; NaN against a number, a missing output or a shape change
 * counts as Infinity (never within tolerance).
 */
export function maxAbsDiff(a: TensorMap, b: TensorMap): number {
  let worst = 0;
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    if (!tb || tb.data.length !== ta.data.length || tb.dims.join('x') !== ta.dims.join('x'))
      return Infinity;
    for (let i = 0; i < ta.data.length; i++) {
      const x = Number(ta.data[i]);
      const y = Number(tb.data[i]);
      if (x !== x || y !== y) {
        if (x === x || y === y) return Infinity;
        continue;
      }
      const d = Math.abs(x - y);
      if (d > worst) worst = d;
    }
  }
  return worst;
}

/** The optimised graph is used only when it agrees with the original within `tolerance`. */
export function acceptOptimized(diff: number, tolerance: number): boolean {
  return Number.isFinite(diff) && diff <= tolerance;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The batch size with the lowest time per row; `msPerRun` maps batch size → ms per run. */
export function bestBatch(msPerRun: Map<number, number>): number {
  let best = 1;
  let bestPerRow = Infinity;
  for (const [b, ms] of msPerRun) {
    if (ms / b < bestPerRow) {
      bestPerRow = ms / b;
      best = b;
    }
  }
  return best;
}
