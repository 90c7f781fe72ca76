/**
 * Trainer benchmark on Fashion-MNIST (Debian package dataset-fashion-mnist).
 *   node --import tsx scripts/bench/trainer/main.ts [--epochs 8] [--hidden 256,128,64]
 *        [--batch 64] [--naive-samples 5000] [--skip-quality]
 * (1) throughput: 784-128-10 MLP, one epoch of our trainer over the 60,000 training images
 *     vs the naive triple-loop step (naive-mlp.ts) on a subset, same run, same arithmetic.
 * (2) quality: a deeper MLP on all 60,000 images, scored on the 10,000 official test images
 *     by onnxruntime running the exported model on raw pixels.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { DenseNetwork, initLayers } from '../../../services/trainer/mlp.js';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import { gatherNormalized, fitNormalization } from '../../../services/trainer/normalization.js';
import { predictProbabilities } from '../../../services/trainer/evaluate.js';
import type { TrainedModel } from '../../../services/trainer/trained-model.js';
import { exportOnnx, ONNX_NAMES } from '../../../services/trainer/onnx-export.js';
import { createRng, permutation } from '../../../services/trainer/rng.js';
import { argmaxRows } from '../../../services/trainer/tensor-ops.js';
import { trainModel } from '../../../services/trainer/train-loop.js';
import { FASHION_DIR, readIdxImages, readIdxLabels } from './idx.js';
import { naiveFromLayers, naiveTrainBatch } from './naive-mlp.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '8' },
    hidden: { type: 'string', default: '256,128,64' },
    batch: { type: 'string', default: '64' },
    'naive-samples': { type: 'string', default: '5000' },
    'skip-quality': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
    /** Scores the test set after every epoch (our predictor, not onnxruntime); adds time. */
    'eval-each-epoch': { type: 'boolean', default: false },
    normalize: { type: 'string', default: 'auto' },
    /** Also the PyTorch example's CNN (torch_cnn.py, Debian's python3-torch), same data. */
    torch: { type: 'boolean', default: false },
    'torch-target': { type: 'string', default: '0.90' },
    'torch-max-epochs': { type: 'string', default: '10' },
  },
});

const rows: [string, string][] = [];
const row = (k: string, v: string) => {
  rows.push([k, v]);
  console.log(`  ${k}: ${v}`);
};

const t0 = performance.now();
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const train = readIdxImages(`${FASHION_DIR}/train-images-idx3-ubyte.gz`);
const trainY = readIdxLabels(`${FASHION_DIR}/train-labels-idx1-ubyte.gz`);
const test = readIdxImages(`${FASHION_DIR}/t10k-images-idx3-ubyte.gz`);
const testY = readIdxLabels(`${FASHION_DIR}/t10k-labels-idx1-ubyte.gz`);
const dim = train.dim;
row('data', `${train.count} train + ${test.count} test images of ${dim} px, loaded in ${ms(t0)}`);

function ms(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

// (1) throughput, 784-128-10, Adam, batch 64. Ours runs one epoch over the 60k images and
// the naive step a subset, interleaved batch by batch so that load from other processes on
// this shared machine hits both alike; the ratio uses process CPU time as well as wall time.
if (!args['skip-throughput']) {
  const batch = 64;
  const params = parseTrainerParams({ trainer: 'mlp', hidden: [128], epochs: 1, batchSize: batch });
  const norm = fitNormalization('auto', 'image', train.pixels, train.count, dim);
  const order = permutation(train.count, createRng(1));
  const init = initLayers([dim, 128, 10], createRng(1));
  const naive = naiveFromLayers(init, params.learningRate);
  const ours = new DenseNetwork(init, params);
  const naiveSamples = Math.min(Number(args['naive-samples']), train.count);
  const every = Math.max(1, Math.floor(train.count / naiveSamples));
  const xb = new Float32Array(batch * dim);
  const yb = new Int32Array(batch);
  const t = { ours: 0, naive: 0, oursCpu: 0, naiveCpu: 0, oursN: 0, naiveN: 0 };
  const timed = (f: () => void): [number, number] => {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    f();
    const c = process.cpuUsage(c0);
    return [performance.now() - w0, (c.user + c.system) / 1000];
  };
  for (let b = 0, from = 0; from + batch <= train.count; b++, from += batch) {
    const [w, c] = timed(() => {
      gatherNormalized(train.pixels, dim, order, from, batch, norm, xb);
      for (let r = 0; r < batch; r++) yb[r] = trainY[order[from + r]!]!;
      ours.trainBatch(xb, yb, batch);
    });
    t.ours += w;
    t.oursCpu += c;
    t.oursN += batch;
    if (b % every === 0 && t.naiveN + batch <= naiveSamples) {
      const nFrom = t.naiveN;
      const [nw, nc] = timed(() => {
        gatherNormalized(train.pixels, dim, order, nFrom, batch, norm, xb);
        for (let r = 0; r < batch; r++) yb[r] = trainY[order[nFrom + r]!]!;
        naiveTrainBatch(naive, xb, yb, batch);
      });
      t.naive += nw;
      t.naiveCpu += nc;
      t.naiveN += batch;
    }
  }
  const rate = (n: number, msTotal: number) => (n * 1000) / msTotal;
  const oursRate = rate(t.oursN, t.ours);
  const naiveRate = rate(t.naiveN, t.naive);
  const cpuRatio = rate(t.oursN, t.oursCpu) / rate(t.naiveN, t.naiveCpu);
  row(
    `throughput 784-128-10, ours (1 epoch, ${t.oursN} samples)`,
    `${oursRate.toFixed(0)} samples/s`,
  );
  row(
    `throughput 784-128-10, naive (${t.naiveN} samples, interleaved)`,
    `${naiveRate.toFixed(0)} samples/s`,
  );
  row('speed-up over naive, wall time (goal >= 3x)', `${(oursRate / naiveRate).toFixed(2)}x`);
  row('speed-up over naive, CPU time', `${cpuRatio.toFixed(2)}x`);
}

// (2) quality: deeper MLP on all 60k, test accuracy from onnxruntime on raw pixels.
if (!args['skip-quality']) {
  const hidden = args.hidden.split(',').map(Number);
  const params = parseTrainerParams({
    trainer: 'mlp',
    hidden,
    epochs: Number(args.epochs),
    batchSize: Number(args.batch),
    normalize: args.normalize,
  });
  const testAccuracy = (model: TrainedModel): number => {
    const pred = argmaxRows(predictProbabilities(model, test.pixels, test.count), test.count, 10);
    let correct = 0;
    for (let i = 0; i < test.count; i++) if (pred[i] === testY[i]) correct++;
    return correct / test.count;
  };
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await trainModel({
    params,
    train: { x: train.pixels, y: trainY, rows: train.count },
    dim,
    classes: 10,
    inputKind: 'image',
    onEpoch: (e, model) => {
      const extra = args['eval-each-epoch'] ? ` test acc ${testAccuracy(model).toFixed(4)}` : '';
      console.log(
        `    epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(4)} train acc ` +
          `${e.trainAccuracy.toFixed(4)} ${e.samplesPerSec.toFixed(0)} samples/s ${ms(start)}${extra}`,
      );
    },
  });
  const trainTime = ms(start);
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const bytes = exportOnnx(result.model, { name: 'fashion-mnist' });
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor('float32', Float32Array.from(test.pixels), [test.count, dim]);
  const out = await session.run({ [ONNX_NAMES.input]: input });
  const probs = out[ONNX_NAMES.probabilities]!.data as Float32Array;
  await session.release();
  const pred = argmaxRows(probs, test.count, 10);
  let correct = 0;
  for (let i = 0; i < test.count; i++) if (pred[i] === testY[i]) correct++;
  row(
    `quality MLP ${dim}-${hidden.join('-')}-10, Adam, ${params.epochs} epochs`,
    `trained in ${trainTime} (process CPU ${cpuS.toFixed(1)} s)`,
  );
  row(
    'test accuracy via onnxruntime, 10k images (goal >= 0.88)',
    (correct / test.count).toFixed(4),
  );
  row('ONNX size', `${(bytes.length / 1024).toFixed(0)} KiB`);
}

// (3) the PyTorch example's CNN on the same images, in the same run: epochs and minutes to
// the target test accuracy (examples/pytorch, python3-torch on the CPU).
if (args.torch) {
  const target = args['torch-target'];
  const r = spawnSync(
    '/usr/bin/python3',
    [
      new URL('./torch_cnn.py', import.meta.url).pathname,
      '--target',
      target,
      '--max-epochs',
      args['torch-max-epochs'],
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`torch_cnn.py exited ${r.status}`);
  const lines = r.stdout.trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(l);
  const t = JSON.parse(lines.at(-1)!) as {
    reachedAtEpoch: number | null;
    testAccuracy: number;
    minutes: number;
    threads: number;
  };
  row(
    `PyTorch CNN (examples/pytorch), epochs to ${target} test accuracy`,
    t.reachedAtEpoch === null
      ? `not reached in ${args['torch-max-epochs']} (${t.testAccuracy.toFixed(4)})`
      : `${t.reachedAtEpoch} (${t.testAccuracy.toFixed(4)})`,
  );
  row('PyTorch CNN minutes to that point', `${t.minutes.toFixed(1)} (${t.threads} torch threads)`);
}
row('total wall time (goal < 5 min)', ms(t0));
row(
  'load average at end (2 cores)',
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' '),
);

console.log('\n| figure | value |\n|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
