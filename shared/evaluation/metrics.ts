/**
 * The figures the platform measures on a candidate's held-out rows, as pure functions: the
 * serving replicas' evaluation process computes them and the event listener's rules read
 * them, so both ends agree on what "accuracy" or "log loss" means.
 */

/** Probabilities are clipped to [EPS, 1-EPS] before the log, so one sure mistake is finite. */
export const LOG_LOSS_EPS = 1e-15;

export interface ClassFigures {
  /** class id */
  class: number;
  precision: number;
  recall: number;
  f1: number;
  /** held-out rows of this class */
  support: number;
}

export interface ClassificationFigures {
  accuracy: number;
  /** mean negative log probability of the true class (nats); NaN without probabilities */
  logLoss: number;
  /** unweighted mean of the per-class F1 over the classes present in labels or predictions */
  macroF1: number;
  perClass: ClassFigures[];
  /** confusion[true][predicted], classes × classes */
  confusion: number[][];
  /** 1 where the predicted class is the label, per row (for paired tests) */
  correct: Uint8Array;
  /** the row's loss (for paired tests); NaN without probabilities */
  rowLoss: Float64Array;
}

export interface RegressionFigures {
  rmse: number;
  mae: number;
  /** 1 - SSE/SST on the held-out labels; NaN when they are all equal */
  r2: number;
}

/**
 * Whether every row of a rows × width output is a probability distribution (non-negative,
 * summing to 1 within `tol`). A model's `probabilities` output is; logits are not.
 */
export function isProbabilityRows(out: ArrayLike<number>, width: number, tol = 1e-3): boolean {
  if (width < 1) return false;
  for (let at = 0; at < out.length; at += width) {
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const v = out[at + j]!;
      if (!(v >= 0)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > tol) return false;
  }
  return true;
}

/** Softmax of each row (max-shifted, so large logits do not overflow). */
export function softmaxRows(out: ArrayLike<number>, width: number): Float64Array {
  const p = new Float64Array(out.length);
  for (let at = 0; at < out.length; at += width) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, out[at + j]!);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp(out[at + j]! - max);
      p[at + j] = e;
      sum += e;
    }
    for (let j = 0; j < width; j++) p[at + j]! /= sum;
  }
  return p;
}

/**
 * A classifier's output as class probabilities, rows × max(width, 2): probability rows as
 * they are, logits through softmax, and a single column in [0, 1] as P(class 1) of a
 * binary classifier.
 */
export function classProbabilities(
  out: ArrayLike<number>,
  width: number,
): { probs: ArrayLike<number>; width: number } {
  if (width === 1) {
    const rows = out.length;
    let inUnit = true;
    for (let i = 0; i < rows && inUnit; i++) inUnit = out[i]! >= 0 && out[i]! <= 1;
    const probs = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      // A single logit when it leaves [0, 1]: the sigmoid makes it P(class 1).
      const p = inUnit ? out[i]! : 1 / (1 + Math.exp(-out[i]!));
      probs[2 * i] = 1 - p;
      probs[2 * i + 1] = p;
    }
    return { probs, width: 2 };
  }
  return isProbabilityRows(out, width)
    ? { probs: out, width }
    : { probs: softmaxRows(out, width), width };
}

/**
 * Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix of class
 * probabilities (rows × width) against class-id labels. `classes` is at least the width; a
 * label past the width is a class the model cannot predict (always wrong, log loss at EPS).
 */
export function classificationFigures(
  probs: ArrayLike<number>,
  width: number,
  labels: ArrayLike<number>,
  classes = width,
): ClassificationFigures {
  const rows = labels.length;
  const k = Math.max(classes, width);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const correct = new Uint8Array(rows);
  const rowLoss = new Float64Array(rows);
  let hits = 0;
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const at = i * width;
    let best = 0;
    for (let j = 1; j < width; j++) if (probs[at + j]! > probs[at + best]!) best = j;
    const y = labels[i]!;
    confusion[y]![best]!++;
    if (best === y) {
      correct[i] = 1;
      hits++;
    }
    const p = y < width ? probs[at + y]! : 0;
    rowLoss[i] = -Math.log(Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p)));
    loss += rowLoss[i]!;
  }
  const perClass = perClassFigures(confusion);
  const present = perClass.filter((c) => c.support > 0 || predicted(confusion, c.class) > 0);
  return {
    accuracy: rows ? hits / rows : NaN,
    logLoss: rows ? loss / rows : NaN,
    macroF1: present.length ? present.reduce((s, c) => s + c.f1, 0) / present.length : NaN,
    perClass,
    confusion,
    correct,
    rowLoss,
  };
}

function predicted(confusion: number[][], c: number): number {
  let n = 0;
  for (const row of confusion) n += row[c]!;
  return n;
}

/** Precision, recall and F1 per class from a confusion matrix (0 where undefined). */
export function perClassFigures(confusion: number[][]): ClassFigures[] {
  return confusion.map((row, c) => {
    const tp = row[c]!;
    const support = row.reduce((s, v) => s + v, 0);
    const pred = predicted(confusion, c);
    const precision = pred ? tp / pred : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: c, precision, recall, f1, support };
  });
}

/** RMSE, MAE and R² of predictions against real-valued labels. */
export function regressionFigures(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
): RegressionFigures {
  const n = labels.length;
  if (n === 0) return { rmse: NaN, mae: NaN, r2: NaN };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += labels[i]!;
  mean /= n;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    const e = pred[i]! - labels[i]!;
    sse += e * e;
    sae += Math.abs(e);
    sst += (labels[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(sse / n), mae: sae / n, r2: sst > 0 ? 1 - sse / sst : NaN };
}

/** The class most frequent in `trainLabels` (the lowest id on a tie) and each class's share. */
export function classPriors(
  trainLabels: ArrayLike<number>,
  classes: number,
): { majority: number; priors: Float64Array } {
  const counts = new Float64Array(classes);
  for (let i = 0; i < trainLabels.length; i++) {
    const y = trainLabels[i]!;
    if (y >= 0 && y < classes) counts[y]!++;
  }
  let majority = 0;
  for (let c = 1; c < classes; c++) if (counts[c]! > counts[majority]!) majority = c;
  // Laplace smoothing: a class absent from training still gets a finite log loss.
  const total = trainLabels.length + classes;
  const priors = counts.map((n) => (n + 1) / total);
  return { majority, priors };
}

/**
 * The trivial classifier: it always answers the training split's majority class, with the
 * training class shares as its probabilities (so its log loss is that of the priors).
 */
export function majorityBaseline(
  trainLabels: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): { majority: number; figures: ClassificationFigures } {
  const { majority, priors } = classPriors(trainLabels, classes);
  const probs = new Float64Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) probs.set(priors, i * classes);
  // Ties between priors would pick the lowest id; the majority must win them.
  for (let i = 0; i < labels.length; i++) probs[i * classes + majority]! += 1e-12;
  return { majority, figures: classificationFigures(probs, classes, labels, classes) };
}

/** The trivial regressor: it always answers the training split's mean. */
export function meanBaseline(
  trainLabels: ArrayLike<number>,
  labels: ArrayLike<number>,
): { mean: number; figures: RegressionFigures } {
  let mean = 0;
  for (let i = 0; i < trainLabels.length; i++) mean += trainLabels[i]!;
  mean = trainLabels.length ? mean / trainLabels.length : 0;
  return { mean, figures: regressionFigures(new Float64Array(labels.length).fill(mean), labels) };
}

/**
 * McNemar's exact test, one-sided: the chance of at least `b` wins in `b + c` discordant
 * rows if the candidate (right on `b` rows where production is wrong, wrong on `c` rows
 * where production is right) were no better than production: P(X >= b), X ~ Bin(b+c, 1/2).
 */
export function mcnemarExactP(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  // Summed in log space from the top, so large n neither underflows nor loses the tail.
  let logTerm = -n * Math.LN2; // log C(n, n) / 2^n
  let sum = 0;
  for (let k = n; k >= b; k--) {
    sum += Math.exp(logTerm);
    // C(n, k-1) = C(n, k) * k / (n - k + 1)
    logTerm += Math.log(k) - Math.log(n - k + 1);
  }
  return Math.min(1, sum);
}

/** Seeded uniform [0, 1) numbers (mulberry32), so a bootstrap can be repeated exactly. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The levels at which a bootstrap's quantiles are kept (each side of a one-sided test). */
export const BOOTSTRAP_LEVELS = [0.01, 0.025, 0.05, 0.1, 0.9, 0.95, 0.975, 0.99] as const;
/** The significance levels a bootstrap test can be asked for. */
export const BOOTSTRAP_ALPHAS = [0.01, 0.025, 0.05, 0.1] as const;

/**
 * Quantiles (at {@link BOOTSTRAP_LEVELS}) of a statistic over `resamples` resamplings of
 * `rows` rows with replacement. `stat` reads the resample as a count per row.
 */
export function bootstrapQuantiles(
  rows: number,
  stat: (counts: Uint32Array) => number,
  opts: { resamples: number; seed: number },
): Record<string, number> {
  const rand = seededUniform(opts.seed);
  const counts = new Uint32Array(rows);
  const values: number[] = [];
  for (let r = 0; r < opts.resamples && rows > 0; r++) {
    counts.fill(0);
    for (let i = 0; i < rows; i++) counts[Math.floor(rand() * rows)]!++;
    const v = stat(counts);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((x, y) => x - y);
  const out: Record<string, number> = {};
  for (const level of BOOTSTRAP_LEVELS) {
    out[String(level)] = values.length
      ? values[Math.min(values.length - 1, Math.max(0, Math.floor(level * values.length)))]!
      : NaN;
  }
  return out;
}

/** Weighted mean of the per-row difference a - b. */
export function weightedMeanDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  w: Uint32Array,
): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    s += w[i]! * (a[i]! - b[i]!);
    n += w[i]!;
  }
  return n ? s / n : NaN;
}

/** Regression figures of predictions over a resample given as counts per row. */
export function weightedRegression(
  pred: ArrayLike<number>,
  labels: ArrayLike<number>,
  w: Uint32Array,
): RegressionFigures {
  let n = 0;
  let mean = 0;
  for (let i = 0; i < w.length; i++) {
    n += w[i]!;
    mean += w[i]! * labels[i]!;
  }
  if (n === 0) return { rmse: NaN, mae: NaN, r2: NaN };
  mean /= n;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === 0) continue;
    const e = pred[i]! - labels[i]!;
    sse += w[i]! * e * e;
    sae += w[i]! * Math.abs(e);
    sst += w[i]! * (labels[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(sse / n), mae: sae / n, r2: sst > 0 ? 1 - sse / sst : NaN };
}
