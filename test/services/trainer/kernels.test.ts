import { test } from 'node:test';
import assert from 'node:assert/strict';
import { naiveFromLayers, naiveTrainBatch } from '../../../scripts/bench/trainer/naive-mlp.js';
import { DenseNetwork, initLayers } from '../../../services/trainer/mlp.js';
import { createRng } from '../../../services/trainer/rng.js';
import {
  argmaxRows,
  matmul,
  matmulTransA,
  matmulTransB,
  softmaxRows,
} from '../../../services/trainer/tensor-ops.js';

const rng = createRng(3);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.gaussian());

function close(a: Float32Array, b: Float32Array, tol: number, what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

// Sizes that are and are not multiples of the 4×4 tile, to cover the fringe loops.
const SIZES = [
  [1, 1, 1],
  [4, 4, 4],
  [5, 7, 3],
  [8, 13, 9],
  [3, 2, 6],
  [17, 33, 10],
] as const;

test('matmul, matmulTransA and matmulTransB agree with the textbook definitions', () => {
  for (const [m, k, n] of SIZES) {
    const a = rand(m * k);
    const b = rand(k * n);
    const bias = rand(n);
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = bias[j]!;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
        want[i * n + j] = s;
      }
    const c = new Float32Array(m * n).fill(99);
    matmul(a, b, c, m, k, n, bias);
    close(c, want, 1e-5, `matmul ${m}x${k}x${n}`);

    // Aᵀ·B with A stored m×k: C is k×n.
    const d = rand(m * n);
    const wantTA = new Float32Array(k * n);
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += a[i * k + p]! * d[i * n + j]!;
        wantTA[p * n + j] = s;
      }
    const ta = new Float32Array(k * n).fill(99);
    matmulTransA(a, d, ta, m, k, n);
    close(ta, wantTA, 1e-5, `transA ${m}x${k}x${n}`);

    // A·Bᵀ with B stored n×k.
    const bt = rand(n * k);
    const wantTB = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * bt[j * k + p]!;
        wantTB[i * n + j] = s;
      }
    const tb = new Float32Array(m * n).fill(99);
    matmulTransB(a, bt, tb, m, k, n);
    close(tb, wantTB, 1e-5, `transB ${m}x${k}x${n}`);
  }
});

test('softmax rows sum to one and survive large logits; argmax picks the largest', () => {
  const logits = Float32Array.from([1000, 1001, 999, -5, 0, 5]);
  const p = new Float32Array(6);
  softmaxRows(logits, p, 2, 3);
  assert.ok(Math.abs(p[0]! + p[1]! + p[2]! - 1) < 1e-6);
  assert.ok(p.every((v) => Number.isFinite(v)));
  assert.deepEqual([...argmaxRows(p, 2, 3)], [1, 2]);
});

test('a training step matches the naive triple-loop implementation of the same maths', () => {
  const dims = [11, 9, 6, 3];
  const layers = initLayers(dims, createRng(5));
  const naive = naiveFromLayers(layers, 0.01, 1e-3);
  const net = new DenseNetwork(layers, {
    optimizer: 'adam',
    learningRate: 0.01,
    momentum: 0,
    l2: 1e-3,
  });
  const rows = 7;
  for (let step = 0; step < 10; step++) {
    const x = rand(rows * dims[0]!);
    const y = Int32Array.from({ length: rows }, (_, i) => (i + step) % 3);
    const a = net.trainBatch(x, y, rows);
    const b = naiveTrainBatch(naive, x, y, rows);
    assert.ok(Math.abs(a - b) < 1e-5, `step ${step} loss ${a} vs ${b}`);
  }
  net.layers().forEach((l, i) => {
    close(l.w, naive.w[i]!, 1e-5, `layer ${i} weights`);
    close(l.b, naive.b[i]!, 1e-5, `layer ${i} bias`);
  });
});
