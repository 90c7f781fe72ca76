import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import type { TrainedModel } from '../../../services/trainer/trained-model.js';
import { predictProbabilities } from '../../../services/trainer/evaluate.js';
import { trainAndExport } from '../../../services/trainer/train-and-export.js';
import { loadDigits } from '../../helpers/datasets.js';
import { typedModel } from '../../helpers/onnx-models.js';
import { createRng } from '../../../services/trainer/rng.js';
import { startServing, type Serving } from './harness.js';

const DIM = 64;

/** Real digits with a seeded 5% of cells missing (NaN), as an upload with blank cells stores them. */
function blankedDigits() {
  const d = loadDigits();
  const rng = createRng(11);
  for (let k = 0; k < d.features.length; k++) if (rng.next() < 0.05) d.features[k] = NaN;
  return d;
}

/** Rows with NaN in them, as JSON rows where NaN is null (JSON has no NaN). */
function rowsWithGaps(
  x: Float32Array,
  count: number,
): { rows: Float32Array; json: (number | null)[][] } {
  const picked: number[] = [];
  for (let r = 0; picked.length < count; r++) {
    if (x.subarray(r * DIM, (r + 1) * DIM).some(Number.isNaN)) picked.push(r);
  }
  const rows = new Float32Array(count * DIM);
  picked.forEach((r, i) => rows.set(x.subarray(r * DIM, (r + 1) * DIM), i * DIM));
  const json = picked.map((r) =>
    Array.from(x.subarray(r * DIM, (r + 1) * DIM), (v) => (Number.isNaN(v) ? null : v)),
  );
  return { rows, json };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('serving a model trained on data with missing values', () => {
  let s: Serving;
  let model: TrainedModel;
  const digits = blankedDigits();
  const { rows, json } = rowsWithGaps(digits.features, 5);

  before(async () => {
    const r = await trainAndExport(
      {
        kind: 'tabular',
        rows: digits.rows,
        dim: DIM,
        features: digits.features,
        labels: digits.labels,
      },
      { trainer: 'mlp', hidden: [32], epochs: 5 },
    );
    assert.equal(r.stopped, false);
    model = r.model;
    const src = new InMemoryModelSource()
      .put('digits', 1, Buffer.from(r.onnx), { production: true })
      .put('typed', 1, typedModel(1), { production: true });
    s = await startServing(src);
  });
  after(() => s?.stop());

  test('KServe v2 JSON: null is a missing value, filled as the trainer fills it', async () => {
    const r = await s.post('/v2/models/digits/infer', {
      inputs: [{ name: 'input', shape: [json.length, DIM], datatype: 'FP32', data: json }],
      outputs: [{ name: 'probabilities' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const served: number[] = r.body.outputs[0].data;
    assert.ok(
      served.every((v) => typeof v === 'number'),
      'no NaN (null) comes back',
    );
    const ours = predictProbabilities(model, rows, json.length);
    assert.ok(maxDiff(served, ours) < 1e-5, `differ by ${maxDiff(served, ours)}`);
  });

  test('TF Serving: null and the bare NaN token are missing values too', async () => {
    const r = await s.post('/v1/models/digits:predict', {
      instances: json.map((row) => ({ input: row })),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const served = (r.body.predictions as { probabilities: number[] }[]).flatMap(
      (p) => p.probabilities,
    );
    const ours = predictProbabilities(model, rows, json.length);
    assert.ok(maxDiff(served, ours) < 1e-5, `differ by ${maxDiff(served, ours)}`);

    const text = JSON.stringify({ instances: [json[0]] }).replaceAll('null', 'NaN');
    const res = await fetch(`${s.url}/v1/models/digits:predict`, { method: 'POST', body: text });
    assert.equal(res.status, 200);
    const one = ((await res.json()) as { predictions: { probabilities: number[] }[] })
      .predictions[0]!.probabilities;
    assert.ok(maxDiff(one, ours.subarray(0, one.length)) < 1e-5);
  });

  test('null in an integer or BOOL input is refused with a 400 naming the element', async () => {
    for (const [name, datatype, data] of [
      ['i32', 'INT32', [1, null]],
      ['b', 'BOOL', [null, true]],
    ] as const) {
      const r = await s.post('/v2/models/typed/infer', {
        inputs: [{ name, shape: [1, 2], datatype, data }],
      });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(JSON.stringify(r.body), /element \d is null/);
    }
  });
});
