import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInput } from '../../../shared/index.js';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';

function rejects(input: unknown, field: string, pattern: RegExp) {
  assert.throws(
    () => parseTrainerParams(input),
    (err: unknown) => {
      assert.ok(err instanceof BadInput);
      assert.equal(err.status, 400);
      assert.match(err.message, pattern);
      const issues = (err.details as { issues: { path: string }[] }).issues;
      assert.ok(
        issues.some((i) => i.path === field),
        `no issue for ${field}: ${JSON.stringify(issues)}`,
      );
      return true;
    },
  );
}

test('defaults are filled in, and the learning rate follows the optimizer', () => {
  const adam = parseTrainerParams({ trainer: 'mlp' });
  assert.deepEqual(adam, {
    trainer: 'mlp',
    hidden: [128],
    epochs: 20,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 1e-3,
    momentum: 0.9,
    l2: 0,
    seed: 42,
    validationFraction: 0.2,
    normalize: 'auto',
    impute: 'median',
  });
  const sgd = parseTrainerParams({ trainer: 'softmax', optimizer: 'sgd' });
  assert.equal(sgd.learningRate, 0.05);
  assert.deepEqual(sgd.hidden, []);
  assert.equal(parseTrainerParams({ trainer: 'mlp', learningRate: 0.3 }).learningRate, 0.3);
});

test('out-of-range values are rejected with a message naming the field', () => {
  rejects({ trainer: 'mlp', epochs: 0 }, 'epochs', /epochs: epochs must be at least 1/);
  rejects({ trainer: 'mlp', epochs: 1001 }, 'epochs', /epochs must be at most 1000/);
  rejects({ trainer: 'mlp', epochs: 2.5 }, 'epochs', /epochs must be an integer/);
  rejects({ trainer: 'mlp', batchSize: 8193 }, 'batchSize', /batchSize must be at most 8192/);
  rejects({ trainer: 'mlp', learningRate: 0 }, 'learningRate', /learningRate must be greater/);
  rejects({ trainer: 'mlp', learningRate: 11 }, 'learningRate', /at most 10/);
  rejects({ trainer: 'mlp', momentum: 1 }, 'momentum', /momentum must be less than 1/);
  rejects({ trainer: 'mlp', l2: -0.1 }, 'l2', /l2 must be at least 0/);
  rejects({ trainer: 'mlp', validationFraction: 0.6 }, 'validationFraction', /at most 0.5/);
  rejects({ trainer: 'mlp', validationFraction: 0 }, 'validationFraction', /greater than 0/);
  rejects({ trainer: 'mlp', hidden: [0] }, 'hidden.0', /hidden\[\] must be at least 1/);
  rejects({ trainer: 'mlp', hidden: [5000] }, 'hidden.0', /at most 4096/);
  rejects({ trainer: 'mlp', hidden: [8, 8, 8, 8, 8, 8, 8] }, 'hidden', /at most 6 layers/);
  rejects({ trainer: 'mlp', hidden: [] }, 'hidden', /at least one layer/);
  rejects({ trainer: 'softmax', hidden: [8] }, 'hidden', /only to trainer 'mlp'/);
  rejects({ trainer: 'forest' }, 'trainer', /trainer must be 'softmax' or 'mlp'/);
  rejects({ trainer: 'mlp', optimizer: 'rmsprop' }, 'optimizer', /optimizer must be/);
  rejects(
    { trainer: 'mlp', impute: 'mode' },
    'impute',
    /impute must be 'median', 'mean' or 'zero'/,
  );
  rejects({ trainer: 'mlp', epochs: '10' }, 'epochs', /epochs must be a number/);
});

test('every bad field is reported at once, and unknown fields are refused', () => {
  assert.throws(
    () => parseTrainerParams({ trainer: 'mlp', epochs: 0, batchSize: 0, lr: 1 }),
    (err: unknown) => {
      assert.ok(err instanceof BadInput);
      assert.match(err.message, /epochs/);
      assert.match(err.message, /batchSize/);
      assert.match(err.message, /lr/);
      return true;
    },
  );
});
