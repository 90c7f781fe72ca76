import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { BadInput, concatBatches, type RowBatch } from '../../../shared/index.js';
import { parseDataset } from '../../../services/data-intake/parse/index.js';
import { fromRowBatch, splitTrainValidation } from '../../../services/trainer/dataset-split.js';
import { countCorrect, predictProbabilities } from '../../../services/trainer/evaluate.js';
import { fitImputation, imputeRows } from '../../../services/trainer/imputation.js';
import { ONNX_NAMES } from '../../../services/trainer/onnx-export.js';
import { createRng } from '../../../services/trainer/rng.js';
import { trainAndExport } from '../../../services/trainer/train-and-export.js';
import { blankedDigitsCsv } from '../../helpers/missing-values.js';

/** The CSV through the real upload parser, as one batch. */
async function parseCsv(text: string): Promise<RowBatch> {
  const p = await parseDataset(Readable.from([Buffer.from(text)]), { format: 'csv' });
  const batches: RowBatch[] = [];
  for await (const b of p.batches()) batches.push(b);
  await p.close();
  return concatBatches(batches);
}

function nanCount(x: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i])) n++;
  return n;
}

const PARAMS = { trainer: 'mlp', hidden: [64], epochs: 15, seed: 3 } as const;

test('digits with 5% of cells blank train to within 2 points of the complete data', async () => {
  const clean = await trainAndExport(await parseCsv(blankedDigitsCsv(0)), PARAMS);
  const blanked = await parseCsv(blankedDigitsCsv(0.05));
  assert.equal(blanked.kind, 'tabular');
  const missing = nanCount(blanked.kind === 'tabular' ? blanked.features : []);
  assert.ok(Math.abs(missing / (1797 * 64) - 0.05) < 0.005, `${missing} cells missing`);

  const r = await trainAndExport(blanked, PARAMS, { name: 'digits-blank' });
  assert.equal(r.stopped, false);
  const a = clean.validation.accuracy;
  const b = r.validation.accuracy;
  console.log(`# val accuracy: complete ${a.toFixed(4)}, 5% blank ${b.toFixed(4)}`);
  assert.ok(Number.isFinite(r.validation.loss), `val loss ${r.validation.loss}`);
  assert.ok(Math.abs(a - b) <= 0.02, `complete ${a} vs blanked ${b}`);

  // The fills are the training rows' medians, recorded in the model and its ONNX metadata.
  const imp = r.model.imputation!;
  assert.equal(imp.strategy, 'median');
  assert.equal(r.params.impute, 'median');
  assert.ok(Math.abs(imp.missingCells / (r.trainRows * 64) - 0.05) < 0.01);
  const proto = fromBinary(ModelProtoSchema, r.onnx);
  const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
  const recorded = JSON.parse(meta.imputation!) as { strategy: string; fill: number[] };
  assert.equal(recorded.strategy, 'median');
  assert.deepEqual(recorded.fill, Array.from(imp.fill));
  assert.deepEqual(
    proto.graph!.node.slice(0, 4).map((n) => n.opType),
    ['IsNaN', 'Where', 'Sub', 'Mul'],
  );

  // Serving the ONNX with the raw (NaN-holding) validation rows gives the trainer's numbers.
  const m = fromRowBatch(blanked);
  const { validation } = splitTrainValidation(m.data, m.dim, 0.2, PARAMS.seed);
  assert.ok(nanCount(validation.x) > 0, 'validation rows have blanks');
  const session = await ort.InferenceSession.create(r.onnx);
  try {
    const out = await session.run({
      [ONNX_NAMES.input]: new ort.Tensor('float32', validation.x as Float32Array, [
        validation.rows,
        m.dim,
      ]),
    });
    const served = out[ONNX_NAMES.probabilities]!.data as Float32Array;
    assert.equal(nanCount(served), 0);
    const ours = predictProbabilities(r.model, validation.x, validation.rows);
    let diff = 0;
    for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - served[i]!));
    assert.ok(diff < 1e-5, `ONNX and trainer probabilities differ by ${diff}`);
    const accuracy = countCorrect(served, validation.y, validation.rows, 10) / validation.rows;
    assert.equal(accuracy, r.validation.accuracy);
  } finally {
    await session.release();
  }
});

test('impute: mean and zero are recorded and used; the param is validated', async () => {
  const batch = await parseCsv(blankedDigitsCsv(0.05, 9));
  const params = { trainer: 'softmax', epochs: 3, seed: 1 } as const;
  const mean = await trainAndExport(batch, { ...params, impute: 'mean' });
  const zero = await trainAndExport(batch, { ...params, impute: 'zero' });
  assert.equal(mean.model.imputation!.strategy, 'mean');
  assert.equal(zero.model.imputation!.strategy, 'zero');
  assert.ok(zero.model.imputation!.fill.every((v) => v === 0));
  // Column 21 of digits is mostly ink: its mean is far from 0.
  assert.ok(mean.model.imputation!.fill[21]! > 5, String(mean.model.imputation!.fill[21]));
  const meta = (onnx: Uint8Array) =>
    Object.fromEntries(
      fromBinary(ModelProtoSchema, onnx).metadataProps.map((p) => [p.key, p.value]),
    );
  assert.equal(JSON.parse(meta(mean.onnx!).imputation!).strategy, 'mean');
  assert.equal(JSON.parse(meta(mean.onnx!).params!).impute, 'mean');
  await assert.rejects(trainAndExport(batch, { ...params, impute: 'mode' }), (err: unknown) => {
    assert.ok(err instanceof BadInput);
    assert.match(err.message, /impute must be 'median', 'mean' or 'zero'/);
    return true;
  });
});

test('fitImputation: medians, means and zeros per feature from the observed values only', () => {
  const rng = createRng(17);
  // Many columns of random length and content against a sort-based median; odd and even
  // counts, ties, and NaN in between.
  for (let trial = 0; trial < 200; trial++) {
    const rows = 1 + rng.int(40);
    const dim = 3;
    const x = new Float32Array(rows * dim);
    for (let k = 0; k < x.length; k++) {
      x[k] = rng.next() < 0.2 ? NaN : rng.int(7) - 3 + (rng.next() < 0.5 ? 0.25 : 0);
    }
    const med = fitImputation('median', x, rows, dim);
    const avg = fitImputation('mean', x, rows, dim);
    for (let j = 0; j < dim; j++) {
      const seen: number[] = [];
      for (let i = 0; i < rows; i++) if (!Number.isNaN(x[i * dim + j])) seen.push(x[i * dim + j]!);
      seen.sort((p, q) => p - q);
      const n = seen.length;
      const wantMedian = n === 0 ? 0 : (seen[(n - 1) >> 1]! + seen[n >> 1]!) / 2;
      const wantMean = n === 0 ? 0 : seen.reduce((s, v) => s + v, 0) / n;
      assert.equal(med.fill[j], Math.fround(wantMedian), `median of ${seen.join(',')}`);
      assert.equal(avg.fill[j], Math.fround(wantMean));
    }
    assert.equal(med.missingCells, nanCount(x));
  }
  const allMissing = fitImputation('median', Float32Array.of(NaN, 1, NaN, 3), 2, 2);
  assert.deepEqual(Array.from(allMissing.fill), [0, 2]);
  assert.deepEqual(Array.from(fitImputation('zero', Float32Array.of(5, 6), 1, 2).fill), [0, 0]);

  const complete = Float32Array.of(1, 2, 3, 4);
  assert.equal(imputeRows(complete, 2, allMissing), complete, 'no copy when nothing is missing');
  const holed = Float32Array.of(NaN, 2, 3, NaN);
  assert.deepEqual(Array.from(imputeRows(holed, 2, allMissing)), [0, 2, 3, 2]);
  assert.ok(Number.isNaN(holed[0]!), 'the input is left as it was');
});

test('a loss that turns NaN fails the training with the epoch, and nothing is exported', async () => {
  const batch = await parseCsv(blankedDigitsCsv(0));
  const losses: number[] = [];
  await assert.rejects(
    trainAndExport(
      batch,
      { trainer: 'mlp', hidden: [64], optimizer: 'sgd', learningRate: 10, epochs: 20 },
      { onEpoch: (e) => void losses.push(e.loss) },
    ),
    (err: unknown) => {
      assert.ok(err instanceof BadInput);
      assert.match(err.message, /^loss became NaN at epoch (\d+): training diverged/);
      const epoch = Number(/epoch (\d+)/.exec(err.message)![1]);
      // Every epoch reported before the failure had a finite loss; the failing one is not reported.
      assert.equal(losses.length, epoch - 1);
      assert.ok(losses.every(Number.isFinite), losses.join(','));
      return true;
    },
  );
});
