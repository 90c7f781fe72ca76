/**
 * Population stability index of served inputs against training data, per feature over
 * equal-width bins, kept incrementally over a sliding window of rows.
 * PSI = Σ (a − e) · ln(a / e) over bins, a and e the served and training proportions;
 * rule of thumb: below 0.1 stable, 0.1–0.25 a shift worth a look, above 0.25 a real shift.
 */

/** Proportions are floored at this, so an empty bin does not make PSI infinite. */
const EPS = 1e-4;

export interface Reference {
  width: number;
  bins: number;
  lo: Float64Array;
  hi: Float64Array;
  /** width × bins training proportions */
  expected: Float64Array;
  /** features that vary in the training data (constant ones carry no signal) */
  active: Uint8Array;
}

export function binOf(x: number, lo: number, hi: number, bins: number): number {
  if (!(x > lo)) return 0; // NaN lands in the first bin too
  if (x >= hi) return bins - 1;
  return Math.min(bins - 1, Math.floor(((x - lo) / (hi - lo)) * bins));
}

/**
 * Training proportions from a sample of training rows (row-major `values`). The bin range of
 * each feature is `range` when given (the dataset's min..max), else the sample's.
 */
export function buildReference(
  values: ArrayLike<number>,
  rows: number,
  width: number,
  bins: number,
  range?: { min: (number | null)[]; max: (number | null)[] },
): Reference {
  const lo = new Float64Array(width).fill(Infinity);
  const hi = new Float64Array(width).fill(-Infinity);
  for (let r = 0, o = 0; r < rows; r++)
    for (let c = 0; c < width; c++, o++) {
      const x = values[o]!;
      if (x < lo[c]!) lo[c] = x;
      if (x > hi[c]!) hi[c] = x;
    }
  for (let c = 0; c < width; c++) {
    const min = range?.min[c];
    const max = range?.max[c];
    if (typeof min === 'number' && typeof max === 'number') {
      lo[c] = min;
      hi[c] = max;
    }
  }
  const active = new Uint8Array(width);
  for (let c = 0; c < width; c++) active[c] = hi[c]! > lo[c]! ? 1 : 0;
  const expected = new Float64Array(width * bins);
  for (let r = 0, o = 0; r < rows; r++)
    for (let c = 0; c < width; c++, o++)
      expected[c * bins + binOf(values[o]!, lo[c]!, hi[c]!, bins)]!++;
  if (rows > 0) for (let i = 0; i < expected.length; i++) expected[i] = expected[i]! / rows;
  return { width, bins, lo, hi, expected, active };
}

/** The last `size` rows seen, as per-feature bin counts. */
export class DriftWindow {
  private readonly ring: Uint8Array;
  private readonly counts: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(
    readonly ref: Reference,
    readonly size: number,
  ) {
    if (ref.bins > 255) throw new Error('at most 255 bins');
    this.ring = new Uint8Array(size * ref.width);
    this.counts = new Float64Array(ref.width * ref.bins);
  }

  /** rows in the window */
  get count(): number {
    return this.filled;
  }

  /** Adds `rows` rows (row-major); the oldest leave once the window is full. */
  add(values: ArrayLike<number>, rows: number): void {
    const { width, bins, lo, hi } = this.ref;
    for (let r = 0; r < rows; r++) {
      const slot = this.next * width;
      const evict = this.filled === this.size;
      for (let c = 0; c < width; c++) {
        if (evict) this.counts[c * bins + this.ring[slot + c]!]!--;
        const b = binOf(values[r * width + c]!, lo[c]!, hi[c]!, bins);
        this.ring[slot + c] = b;
        this.counts[c * bins + b]!++;
      }
      if (!evict) this.filled++;
      this.next = (this.next + 1) % this.size;
    }
  }

  /** PSI per feature (0 for inactive ones). */
  perFeature(): Float64Array {
    const { width, bins, expected, active } = this.ref;
    const out = new Float64Array(width);
    if (this.filled === 0) return out;
    for (let c = 0; c < width; c++) {
      if (!active[c]) continue;
      let psi = 0;
      for (let b = 0; b < bins; b++) {
        const a = Math.max(this.counts[c * bins + b]! / this.filled, EPS);
        const e = Math.max(expected[c * bins + b]!, EPS);
        psi += (a - e) * Math.log(a / e);
      }
      out[c] = psi;
    }
    return out;
  }

  /** Mean PSI over the features that vary in training. */
  psi(): number {
    const per = this.perFeature();
    let sum = 0;
    let n = 0;
    for (let c = 0; c < per.length; c++)
      if (this.ref.active[c]) {
        sum += per[c]!;
        n++;
      }
    return n === 0 ? 0 : sum / n;
  }
}

/** Raises once per crossing: above `threshold` raises, below `clear` re-arms. */
export function nextAlarm(
  raised: boolean,
  score: number,
  threshold: number,
  clear: number,
): { raised: boolean; fire: boolean } {
  if (!raised && score > threshold) return { raised: true, fire: true };
  if (raised && score < clear) return { raised: false, fire: false };
  return { raised, fire: false };
}
