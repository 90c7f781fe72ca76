/**
 * The PyTorch example (examples/pytorch/train.py) end to end in local mode's process backend:
 * a small CNN trained by Debian's python3-torch for one epoch on 5,000 Fashion-MNIST images
 * from the store, its ONNX candidate judged by the platform and accepted, and the production
 * generation's outputs in onnxruntime (serving's runtime) equal to torch's on the same rows.
 * It fails, not skips, without torch or the dataset package: `bash scripts/setup.sh --test`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DatasetStore, Keys, ModelRegistry, splitInfo } from '../../shared/index.js';
import { FASHION_DIR, readIdxImages, readIdxLabels } from '../../scripts/bench/trainer/idx.js';
import { api, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const N = 5000;
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'];
const LABELS = [...CLASSES, 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

let r: TestRedis;
let p: TestPlatform;
let dir: string;
before(async () => {
  r = await startTestRedis();
  const env = { ALLOWED_COMMANDS: PYTHON };
  p = await startTestPlatform(r, { handlerEnv: env, gatewayEnv: env });
  dir = mkdtempSync(join(tmpdir(), 'swarmml-torch-'));
  // The first 5,000 of the official training images, stored as the intake would store them.
  const img = readIdxImages(`${FASHION_DIR}/train-images-idx3-ubyte.gz`);
  const lab = readIdxLabels(`${FASHION_DIR}/train-labels-idx1-ubyte.gz`);
  const w = new DatasetStore(r.client(), new Keys(p.prefix)).beginVersion('fashion-5k');
  for (let from = 0; from < N; from += 1000) {
    await w.writeShard({
      kind: 'image',
      rows: 1000,
      height: 28,
      width: 28,
      channels: 1,
      pixels: img.pixels.slice(from * 784, (from + 1000) * 784),
      labels: Float32Array.from(lab.subarray(from, from + 1000)),
    });
  }
  await w.commit({
    kind: 'image',
    format: 'idx',
    imageShape: { height: 28, width: 28, channels: 1 },
    count: N,
    labelKind: 'class',
    labelNames: LABELS,
    split: splitInfo(42, 0.2, N),
  });
});
after(async () => {
  await p?.close();
  await r?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a PyTorch CNN trains for an epoch, is accepted, and serves what torch computes', async () => {
  const probe = join(dir, 'probe.json');
  const created = await api(p, 'POST', '/api/v1/sessions', {
    model: 'fashion-cnn',
    dataset: 'fashion-5k',
    trainer: 'external',
    params: { epochs: 1, probe },
    container: { command: [PYTHON, resolve('examples/pytorch/train.py')] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  const done = await waitFor(
    async () => {
      const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
      return ['succeeded', 'failed', 'stopped'].includes(b.state) ? b : undefined;
    },
    { timeoutMs: 150_000, intervalMs: 250, what: 'the torch session to end' },
  );
  assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs));
  const epochs = done.events.filter((e: { kind: string }) => e.kind === 'epoch');
  assert.equal(epochs.length, 1);
  const ep = epochs[0].payload;
  for (const k of [
    'loss',
    'trainAccuracy',
    'valAccuracy',
    'macroF1',
    'epochTimeS',
    'samplesPerSec',
  ])
    assert.equal(typeof ep[k], 'number', `${k} in ${JSON.stringify(ep)}`);
  assert.ok(ep.valAccuracy > 0.6, JSON.stringify(ep));

  const registry = new ModelRegistry(r.client(), new Keys(p.prefix));
  const gen = await waitFor(
    async () => {
      const [g] = await registry.listGenerations('fashion-cnn');
      return g && g.status !== 'candidate' ? g : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the candidate judged' },
  );
  assert.equal(gen.status, 'production', gen.reason);
  assert.equal(gen.sessionId, id);
  // The platform measured what the worker reported (the same rows held out on both sides).
  const measured = gen.evaluation!.metrics.accuracy!;
  assert.ok(Math.abs(measured - ep.valAccuracy) < 0.005, `${measured} vs ${ep.valAccuracy}`);

  // The production generation's bytes in onnxruntime, fed raw pixel rows as serving feeds them.
  const { rows, probabilities } = JSON.parse(readFileSync(probe, 'utf8')) as {
    rows: number[][];
    probabilities: number[][];
  };
  const prod = await registry.getProduction('fashion-cnn');
  const session = await ort.InferenceSession.create(
    await registry.getWeights('fashion-cnn', prod!.gen),
  );
  assert.deepEqual(session.inputNames, ['input']);
  const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 784]);
  const out = await session.run({ input });
  const served = out.probabilities!.data as Float32Array;
  assert.equal(served.length, rows.length * 10);
  let worst = 0;
  probabilities.flat().forEach((v, i) => (worst = Math.max(worst, Math.abs(v - served[i]!))));
  assert.ok(worst < 1e-4, `largest difference from torch: ${worst}`);
});
