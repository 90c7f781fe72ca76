/**
 * Dense Float32 kernels for the built-in trainers. All matrices are row-major and passed
 * with their dimensions; nothing here allocates except where a result is returned.
 *
 * Speed comes from loop order rather than native code: every inner loop walks memory
 * contiguously (an axpy or a dot product), rows of the left operand are processed four at a
 * time so each loaded row of B feeds four accumulating rows of C, and the shared dimension is
 * cut into blocks so the slice of B in use stays in the L2 cache.
 */

/** Floats of B kept hot per k-block: 256 KiB, half of this machine's per-core L2. */
const BLOCK_FLOATS = 64 * 1024;

function kBlock(k: number, n: number): number {
  return Math.max(4, Math.min(k, Math.floor(BLOCK_FLOATS / Math.max(1, n))));
}

/**
 * C[m×n] = A[m×k]·B[k×n] (+ bias[n] on every row).
 * Zero entries of A are skipped, which pays on ReLU activations and image pixels.
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
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    if (bias) for (let j = 0; j < n; j++) c[ci + j] = bias[j]!;
    else c.fill(0, ci, ci + n);
  }
  const lda = k;
  const kb = kBlock(k, n);
  for (let p0 = 0; p0 < k; p0 += kb) {
    const p1 = Math.min(k, p0 + kb);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = i * lda;
      const a1 = a0 + lda;
      const a2 = a1 + lda;
      const a3 = a2 + lda;
      const c0 = i * n;
      const c1 = c0 + n;
      const c2 = c1 + n;
      const c3 = c2 + n;
      for (let p = p0; p < p1; p++) {
        const x0 = a[a0 + p]!;
        const x1 = a[a1 + p]!;
        const x2 = a[a2 + p]!;
        const x3 = a[a3 + p]!;
        if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) {
          const bv = b[bp + j]!;
          c[c0 + j]! += x0 * bv;
          c[c1 + j]! += x1 * bv;
          c[c2 + j]! += x2 * bv;
          c[c3 + j]! += x3 * bv;
        }
      }
    }
    for (; i < m; i++) {
      const ai = i * lda;
      const ci = i * n;
      for (let p = p0; p < p1; p++) {
        const x = a[ai + p]!;
        if (x === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += x * b[bp + j]!;
      }
    }
  }
}

/** C[m×n] = A[m×k]·B[n×k]ᵀ: each entry is a dot product of two contiguous rows. */
export function matmulTransB(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    const ci = i * n;
    let j = 0;
    // Four rows of B at once: each load of A's row feeds four dot products.
    for (; j + 4 <= n; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < k; p++) {
        const x = a[ai + p]!;
        s0 += x * b[b0 + p]!;
        s1 += x * b[b1 + p]!;
        s2 += x * b[b2 + p]!;
        s3 += x * b[b3 + p]!;
      }
      c[ci + j] = s0;
      c[ci + j + 1] = s1;
      c[ci + j + 2] = s2;
      c[ci + j + 3] = s3;
    }
    for (; j < n; j++) {
      const bj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
      c[ci + j] = s;
    }
  }
}

/**
 * C[k×n] = A[m×k]ᵀ·B[m×n] (the weight gradient Xᵀ·dZ). `scratch` must hold k*4 floats;
 * it receives four transposed columns of A at a time so the blocked kernel can run on them.
 */
export function matmulTransA(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0, 0, k * n);
  // Row p of C gathers A[i,p]·B[i,:] over i: an axpy per (i, p) on contiguous rows.
  // Four p at a time share each load of B's row.
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const c0 = p * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let i = 0; i < m; i++) {
      const ai = i * k + p;
      const x0 = a[ai]!;
      const x1 = a[ai + 1]!;
      const x2 = a[ai + 2]!;
      const x3 = a[ai + 3]!;
      if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
      const bi = i * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bi + j]!;
        c[c0 + j]! += x0 * bv;
        c[c1 + j]! += x1 * bv;
        c[c2 + j]! += x2 * bv;
        c[c3 + j]! += x3 * bv;
      }
    }
  }
  for (; p < k; p++) {
    const cp = p * n;
    for (let i = 0; i < m; i++) {
      const x = a[i * k + p]!;
      if (x === 0) continue;
      const bi = i * n;
      for (let j = 0; j < n; j++) c[cp + j]! += x * b[bi + j]!;
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
