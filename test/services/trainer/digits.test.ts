import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitTrainValidation } from '../../../services/trainer/dataset-split.js';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import { trainModel, type EpochReport } from '../../../services/trainer/train-loop.js';
import { loadDigits } from './fixtures.js';

const digits = loadDigits();

async function trainDigits(input: Record<string, unknown>) {
  const params = parseTrainerParams(input);
  const { train, validation } = splitTrainValidation(
    digits.data,
    digits.dim,
    params.validationFraction,
    params.seed,
  );
  const epochs: EpochReport[] = [];
  const result = await trainModel({
    params,
    train,
    validation,
    dim: digits.dim,
    classes: digits.classes,
    onEpoch: (e) => void epochs.push(e),
  });
  return { result, epochs, train, validation };
}

test('digits: MLP [128] reaches at least 0.95 validation accuracy on an 80/20 split', async () => {
  const { result, epochs, train, validation } = await trainDigits({
    trainer: 'mlp',
    hidden: [128],
    epochs: 20,
  });
  assert.equal(train.rows + validation.rows, 1797);
  assert.equal(validation.rows, Math.round(1797 * 0.2));
  assert.equal(epochs.length, 20);
  assert.ok(result.validation.accuracy >= 0.95, `val accuracy ${result.validation.accuracy}`);
  const first = epochs[0]!;
  const last = epochs.at(-1)!;
  assert.ok(last.loss < first.loss, 'training loss falls');
  assert.equal(last.epoch, 20);
  assert.equal(last.epochs, 20);
  assert.ok(last.samplesPerSec > 0 && last.elapsedMs >= first.elapsedMs);
  assert.equal(result.validation.accuracy, last.valAccuracy);
});

test('digits: softmax regression reaches at least 0.9', async () => {
  const { result } = await trainDigits({ trainer: 'softmax', epochs: 20 });
  assert.ok(result.validation.accuracy >= 0.9, `val accuracy ${result.validation.accuracy}`);
});

test('digits: SGD with momentum also learns', async () => {
  const { result } = await trainDigits({
    trainer: 'mlp',
    hidden: [64],
    epochs: 10,
    optimizer: 'sgd',
  });
  assert.ok(result.validation.accuracy >= 0.93, `val accuracy ${result.validation.accuracy}`);
});
