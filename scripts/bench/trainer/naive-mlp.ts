/**
 * The MLP step "written as simply as possible": i-j-k triple loops with index math over
 * Float32Array, the same arithmetic as services/trainer (ReLU layers, softmax cross-entropy,
 * Adam with L2 on weights). It is the baseline of the throughput benchmark and, in tests, an
 * independent oracle for the optimized kernels' gradients.
 */
export interface NaiveMlp {
  dims: number[];
  w: Float32Array[];
  b: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  mb: Float32Array[];
  vb: Float32Array[];
  t: number;
  lr: number;
  l2: number;
}

export function naiveFromLayers(
  layers: readonly { w: Float32Array; b: Float32Array; inDim: number; outDim: number }[],
  lr: number,
  l2 = 0,
): NaiveMlp {
  return {
    dims: [layers[0]!.inDim, ...layers.map((l) => l.outDim)],
    w: layers.map((l) => Float32Array.from(l.w)),
    b: layers.map((l) => Float32Array.from(l.b)),
    m: layers.map((l) => new Float32Array(l.w.length)),
    v: layers.map((l) => new Float32Array(l.w.length)),
    mb: layers.map((l) => new Float32Array(l.b.length)),
    vb: layers.map((l) => new Float32Array(l.b.length)),
    t: 0,
    lr,
    l2,
  };
}

function adamUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr: number,
  l2: number,
) {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! + l2 * p[i]!;
    m[i] = 0.9 * m[i]! + 0.1 * gi;
    v[i] = 0.999 * v[i]! + 0.001 * gi * gi;
    const mHat = m[i]! / (1 - 0.9 ** t);
    const vHat = v[i]! / (1 - 0.999 ** t);
    p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
  }
}

/** One Adam step on a batch; returns its mean cross-entropy. */
export function naiveTrainBatch(net: NaiveMlp, x: Float32Array, y: Int32Array, rows: number) {
  const L = net.w.length;
  const acts: Float32Array[] = [x];
  for (let l = 0; l < L; l++) {
    const K = net.dims[l]!;
    const N = net.dims[l + 1]!;
    const out = new Float32Array(rows * N);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < N; j++) {
        let s = net.b[l]![j]!;
        for (let k = 0; k < K; k++) s += acts[l]![i * K + k]! * net.w[l]![k * N + j]!;
        out[i * N + j] = l < L - 1 && s < 0 ? 0 : s;
      }
    }
    acts.push(out);
  }
  const C = net.dims[L]!;
  const logits = acts[L]!;
  let loss = 0;
  let dz = new Float32Array(rows * C);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let j = 0; j < C; j++) max = Math.max(max, logits[i * C + j]!);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(logits[i * C + j]! - max);
    for (let j = 0; j < C; j++) {
      const p = Math.exp(logits[i * C + j]! - max) / sum;
      if (j === y[i]) loss -= Math.log(Math.max(p, 1e-12));
      dz[i * C + j] = (p - (j === y[i] ? 1 : 0)) / rows;
    }
  }
  net.t++;
  for (let l = L - 1; l >= 0; l--) {
    const K = net.dims[l]!;
    const N = net.dims[l + 1]!;
    const a = acts[l]!;
    const gw = new Float32Array(K * N);
    const gb = new Float32Array(N);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += a[i * K + k]! * dz[i * N + j]!;
        gw[k * N + j] = s;
      }
    }
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += dz[i * N + j]!;
      gb[j] = s;
    }
    if (l > 0) {
      const da = new Float32Array(rows * K);
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let j = 0; j < N; j++) s += dz[i * N + j]! * net.w[l]![k * N + j]!;
          da[i * K + k] = a[i * K + k]! > 0 ? s : 0;
        }
      }
      dz = da;
    }
    adamUpdate(net.w[l]!, gw, net.m[l]!, net.v[l]!, net.t, net.lr, net.l2);
    adamUpdate(net.b[l]!, gb, net.mb[l]!, net.vb[l]!, net.t, net.lr, 0);
  }
  return loss / rows;
}
