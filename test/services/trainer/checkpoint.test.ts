/**
 * Checkpoint and resume of the built-in trainer's loop: a run stopped anywhere (mid-epoch or
 * at an epoch's end), encoded, decoded and resumed ends with exactly the weights of a run
 * that was never interrupted, and its curves continue rather than restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type TrainCheckpoint,
} from '../../../services/trainer/checkpoint.js';
import { trainModel, type TrainResult } from '../../../services/trainer/train-loop.js';
import { blobs } from './fixtures.js';

const { data, dim, classes } = blobs(600, 12, 4);

function sameWeights(a: TrainResult, b: TrainResult): void {
  assert.equal(a.model.layers.length, b.model.layers.length);
  a.model.layers.forEach((l, i) => {
    assert.deepEqual(Buffer.from(l.w.buffer), Buffer.from(b.model.layers[i]!.w.buffer));
    assert.deepEqual(Buffer.from(l.b.buffer), Buffer.from(b.model.layers[i]!.b.buffer));
  });
}

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`${optimizer}: stopped mid-epoch, resumed from the decoded checkpoint: bit-identical weights`, async () => {
    const params = parseTrainerParams({
      trainer: 'mlp',
      hidden: [16],
      epochs: 5,
      batchSize: 32,
      optimizer,
    });
    const whole = await trainModel({ params, train: data, validation: data, dim, classes });

    // 19 batches per epoch: stopping after 30 leaves the second epoch half done.
    let batches = 0;
    const first = await trainModel({
      params,
      train: data,
      validation: data,
      dim,
      classes,
      shouldStop: () => ++batches > 30,
    });
    assert.equal(first.stopped, true);
    assert.equal(first.epochsCompleted, 1);
    const saved = encodeCheckpoint(first.checkpoint());
    const c = decodeCheckpoint(saved);
    assert.equal(c.epoch, 2);
    assert.ok(c.from > 0 && c.shuffled);

    const reported: number[] = [];
    const resumed = await trainModel({
      params,
      train: data,
      validation: data,
      dim,
      classes,
      resume: c,
      onEpoch: (e) => {
        reported.push(e.epoch);
      },
    });
    sameWeights(whole, resumed);
    assert.deepEqual(reported, [2, 3, 4, 5], 'the epoch count continues');
    assert.equal(resumed.epochsCompleted, 5);
    assert.equal(resumed.batchesRun, whole.batchesRun);
    assert.deepEqual(
      resumed.curves.map((e) => e.loss),
      whole.curves.map((e) => e.loss),
      'the curves continue: the first epoch kept, the rest as an uninterrupted run has them',
    );
  });
}

test('a checkpoint taken at an epoch end resumes at the next epoch, neither repeating nor skipping one', async () => {
  const params = parseTrainerParams({ trainer: 'softmax', epochs: 4, batchSize: 50 });
  const whole = await trainModel({ params, train: data, dim, classes });
  let atTwo: TrainCheckpoint | undefined;
  await trainModel({
    params,
    train: data,
    dim,
    classes,
    onEpoch: (e, _m, checkpoint) => {
      if (e.epoch === 2) atTwo = decodeCheckpoint(encodeCheckpoint(checkpoint()));
    },
  });
  assert.equal(atTwo?.epoch, 3);
  assert.equal(atTwo?.from, 0);
  assert.equal(atTwo?.curves.length, 2);
  const reported: number[] = [];
  const resumed = await trainModel({
    params,
    train: data,
    dim,
    classes,
    resume: atTwo,
    onEpoch: (e) => {
      reported.push(e.epoch);
    },
  });
  assert.deepEqual(reported, [3, 4]);
  sameWeights(whole, resumed);
  assert.ok(resumed.elapsedMs >= atTwo.elapsedMs, 'elapsed time continues');
});

test("another run's checkpoint is refused, and bytes that are not one are a BadInput", async () => {
  const params = parseTrainerParams({ trainer: 'softmax', epochs: 2 });
  const run = await trainModel({ params, train: data, dim, classes });
  const other = parseTrainerParams({ trainer: 'softmax', epochs: 2, learningRate: 0.5 });
  await assert.rejects(
    trainModel({ params: other, train: data, dim, classes, resume: run.checkpoint() }),
    /checkpoint is of another run/,
  );
  assert.throws(() => decodeCheckpoint(Buffer.from('nope')), /not a trainer checkpoint/);
  const bytes = encodeCheckpoint(run.checkpoint());
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 3)), /truncated/);
});
