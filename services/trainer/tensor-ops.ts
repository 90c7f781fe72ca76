/**
 * Dense Float32 kernels for the built-in trainers. All matrices are row-major and passed
 * with their dimensions.
 *
 * Speed comes from register tiling rather than native code: each kernel computes a 4×4 tile
 * of C in sixteen local accumulators, so one pass over the shared dimension loads 8 values
 * for 16 multiply-adds and stores nothing until the end (an axpy formulation loads and stores
 * C on every step and runs at half the speed here). Where the tile's operands would be strided,
 * they are first packed into contiguous 4-wide panels. Sums run in float64 locals and are
 * rounded once when stored, like a naive dot product.
 */

/** Panel-packed copy of B; grown on demand and reused across calls (JS is single-threaded). */
let panelScratch = new Float32Array(0);

/** Packs columns [0, n4) of B[k×n] into 4-wide panels: out[(jt·k + p)·4 + q] = B[p, 4jt + q]. */
function packPanels(b: Float32Array, k: number, n: number, n4: number): Float32Array {
  if (panelScratch.length < k * n4) panelScratch = new Float32Array(k * n4);
  const out = panelScratch;
  for (let jt = 0; jt < n4 / 4; jt++) {
    let o = jt * k * 4;
    for (let p = 0; p < k; p++, o += 4) {
      const src = p * n + jt * 4;
      out[o] = b[src]!;
      out[o + 1] = b[src + 1]!;
      out[o + 2] = b[src + 2]!;
      out[o + 3] = b[src + 3]!;
    }
  }
  return out;
}

/**
 * C[m×n] = A[m×k]·B[k×n] (+ bias[n] on every row).
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  bias?: Float32Array,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const bp = packPanels(b, k, n, n4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let o = j * k;
      for (let p = 0; p < k; p++, o += 4) {
        const x0 = a[a0 + p]!;
        const x1 = a[a1 + p]!;
        const x2 = a[a2 + p]!;
        const x3 = a[a3 + p]!;
        // Image pixels and ReLU outputs are often zero in all four rows.
        if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
        const b0 = bp[o]!;
        const b1 = bp[o + 1]!;
        const b2 = bp[o + 2]!;
        const b3 = bp[o + 3]!;
        c00 += x0 * b0;
        c01 += x0 * b1;
        c02 += x0 * b2;
        c03 += x0 * b3;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c12 += x1 * b2;
        c13 += x1 * b3;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c22 += x2 * b2;
        c23 += x2 * b3;
        c30 += x3 * b0;
        c31 += x3 * b1;
        c32 += x3 * b2;
        c33 += x3 * b3;
      }
      const z0 = bias ? bias[j]! : 0;
      const z1 = bias ? bias[j + 1]! : 0;
      const z2 = bias ? bias[j + 2]! : 0;
      const z3 = bias ? bias[j + 3]! : 0;
      let r = i * n + j;
      c[r] = c00 + z0;
      c[r + 1] = c01 + z1;
      c[r + 2] = c02 + z2;
      c[r + 3] = c03 + z3;
      r += n;
      c[r] = c10 + z0;
      c[r + 1] = c11 + z1;
      c[r + 2] = c12 + z2;
      c[r + 3] = c13 + z3;
      r += n;
      c[r] = c20 + z0;
      c[r + 1] = c21 + z1;
      c[r + 2] = c22 + z2;
      c[r + 3] = c23 + z3;
      r += n;
      c[r] = c30 + z0;
      c[r + 1] = c31 + z1;
      c[r + 2] = c32 + z2;
      c[r + 3] = c33 + z3;
    }
  }
  // Fringes: rows past m4 (all columns) and columns past n4 (rows below m4).
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      c[i * n + j] = s + (bias ? bias[j]! : 0);
    }
  }
}

/** C[m×n] = A[m×k]·B[n×k]ᵀ: every operand row is contiguous, so no packing is needed. */
export function matmulTransB(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let j = 0; j < n4; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0; p < k; p++) {
        const y0 = b[b0 + p]!;
        const y1 = b[b1 + p]!;
        const y2 = b[b2 + p]!;
        const y3 = b[b3 + p]!;
        const x0 = a[a0 + p]!;
        const x1 = a[a1 + p]!;
        const x2 = a[a2 + p]!;
        const x3 = a[a3 + p]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let r = i * n + j;
      c[r] = c00;
      c[r + 1] = c01;
      c[r + 2] = c02;
      c[r + 3] = c03;
      r += n;
      c[r] = c10;
      c[r + 1] = c11;
      c[r + 2] = c12;
      c[r + 3] = c13;
      r += n;
      c[r] = c20;
      c[r + 1] = c21;
      c[r + 2] = c22;
      c[r + 3] = c23;
      r += n;
      c[r] = c30;
      c[r + 1] = c31;
      c[r + 2] = c32;
      c[r + 3] = c33;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[j * k + p]!;
      c[i * n + j] = s;
    }
  }
}

/**
 * C[k×n] = A[m×k]ᵀ·B[m×n] (the weight gradient Xᵀ·dZ). The sum runs over the batch rows;
 * each step reads four adjacent values from a row of A and of B.
 */
export function matmulTransA(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const k4 = k - (k % 4);
  const n4 = n - (n % 4);
  for (let p = 0; p < k4; p += 4) {
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let i = 0, ai = p, bi = j; i < m; i++, ai += k, bi += n) {
        const x0 = a[ai]!;
        const x1 = a[ai + 1]!;
        const x2 = a[ai + 2]!;
        const x3 = a[ai + 3]!;
        if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
        const y0 = b[bi]!;
        const y1 = b[bi + 1]!;
        const y2 = b[bi + 2]!;
        const y3 = b[bi + 3]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let r = p * n + j;
      c[r] = c00;
      c[r + 1] = c01;
      c[r + 2] = c02;
      c[r + 3] = c03;
      r += n;
      c[r] = c10;
      c[r + 1] = c11;
      c[r + 2] = c12;
      c[r + 3] = c13;
      r += n;
      c[r] = c20;
      c[r + 1] = c21;
      c[r + 2] = c22;
      c[r + 3] = c23;
      r += n;
      c[r] = c30;
      c[r + 1] = c31;
      c[r + 2] = c32;
      c[r + 3] = c33;
    }
  }
  for (let p = 0; p < k; p++) {
    for (let j = p < k4 ? n4 : 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += a[i * k + p]! * b[i * n + j]!;
      c[p * n + j] = s;
    }
  }
}

/** out[n] = Σ over rows of A[m×n]. */
export function columnSums(a: Float32Array, out: Float32Array, m: number, n: number): void {
  out.fill(0, 0, n);
  for (let i = 0; i < m; i++) {
    const ai = i * n;
    for (let j = 0; j < n; j++) out[j]! += a[ai + j]!;
  }
}

export function reluInPlace(x: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) if (x[i]! < 0) x[i] = 0;
}

/** grad *= 1[activation > 0], where `activation` is the ReLU output. */
export function reluBackwardInPlace(grad: Float32Array, activation: Float32Array, len: number) {
  for (let i = 0; i < len; i++) if (activation[i]! <= 0) grad[i] = 0;
}

/** Row-wise softmax of logits[rows×cols] into probs (may be the same array). */
export function softmaxRows(
  logits: Float32Array,
  probs: Float32Array,
  rows: number,
  cols: number,
): void {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j]! > max) max = logits[o + j]!;
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(logits[o + j]! - max);
      probs[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) probs[o + j]! *= inv;
  }
}

/** Smallest probability fed to log, so a confident wrong answer costs a finite loss. */
const MIN_PROB = 1e-12;

/** Summed (not mean) cross-entropy of probs[rows×cols] against class ids. */
export function crossEntropySum(
  probs: Float32Array,
  labels: Int32Array,
  rows: number,
  cols: number,
  labelOffset = 0,
): number {
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    loss -= Math.log(Math.max(MIN_PROB, probs[i * cols + labels[labelOffset + i]!]!));
  }
  return loss;
}

/** Index of the largest entry of each row. */
export function argmaxRows(
  x: Float32Array,
  rows: number,
  cols: number,
  out: Int32Array = new Int32Array(rows),
): Int32Array {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let best = 0;
    let bestV = x[o]!;
    for (let j = 1; j < cols; j++) {
      if (x[o + j]! > bestV) {
        bestV = x[o + j]!;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}
