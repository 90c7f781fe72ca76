import type { ColumnStats, DatasetStats, LabelStats } from './stats.js';

interface Moment {
  n: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

/** Pooled count, mean and population std of two groups (Chan et al.), with min and max. */
function mergeMoment(a: Moment, b: Moment): Moment {
  if (b.n === 0 || b.mean === null) return a;
  if (a.n === 0 || a.mean === null) return b;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const m2 = a.n * (a.std ?? 0) ** 2 + b.n * (b.std ?? 0) ** 2 + (delta * delta * a.n * b.n) / n;
  return {
    n,
    mean: a.mean + (delta * b.n) / n,
    std: Math.sqrt(m2 / n),
    min: Math.min(a.min ?? Infinity, b.min ?? Infinity),
    max: Math.max(a.max ?? -Infinity, b.max ?? -Infinity),
  };
}

const column = (s: ColumnStats, c: number): Moment => ({
  n: s.count[c] ?? 0,
  mean: s.mean[c] ?? null,
  std: s.std[c] ?? null,
  min: s.min[c] ?? null,
  max: s.max[c] ?? null,
});

function mergeColumns(a: ColumnStats, b: ColumnStats): ColumnStats {
  const out: ColumnStats = { count: [], missing: [], mean: [], std: [], min: [], max: [] };
  const k = Math.max(a.count.length, b.count.length);
  for (let c = 0; c < k; c++) {
    const m = mergeMoment(column(a, c), column(b, c));
    out.count.push(m.n);
    out.missing.push((a.missing[c] ?? 0) + (b.missing[c] ?? 0));
    out.mean.push(m.mean);
    out.std.push(m.std);
    out.min.push(m.min);
    out.max.push(m.max);
  }
  return out;
}

function mergeLabels(a: LabelStats, b: LabelStats): LabelStats {
  if (a.kind === 'class' && b.kind === 'class') {
    const n = Math.max(a.histogram.length, b.histogram.length);
    return {
      kind: 'class',
      histogram: Array.from({ length: n }, (_, i) => (a.histogram[i] ?? 0) + (b.histogram[i] ?? 0)),
    };
  }
  if (a.kind === 'regression' && b.kind === 'regression') {
    const m = mergeMoment({ ...a, n: a.count }, { ...b, n: b.count });
    return { kind: 'regression', count: m.n, mean: m.mean, std: m.std, min: m.min, max: m.max };
  }
  throw new Error(`cannot merge ${a.kind} label statistics with ${b.kind}`);
}

/**
 * Statistics of the union of two row sets from the statistics of each, so an append
 * version gets exact moments without reading its base's rows again.
 */
export function mergeStats(a: DatasetStats, b: DatasetStats): DatasetStats {
  const features =
    a.features && b.features ? mergeColumns(a.features, b.features) : (a.features ?? b.features);
  const channels =
    a.channels && b.channels ? mergeColumns(a.channels, b.channels) : (a.channels ?? b.channels);
  return {
    rows: a.rows + b.rows,
    ...(features ? { features } : {}),
    ...(channels ? { channels } : {}),
    labels: mergeLabels(a.labels, b.labels),
  };
}
