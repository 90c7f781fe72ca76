import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainerParams } from '../../../shared/protocol/model-spec.js';
import { trainModel } from '../../../services/trainer/train-loop.js';
import { blobs } from './fixtures.js';

const { data, dim, classes } = blobs(2000, 20, 5);

test('shouldStop returning true ends training before the next batch', async () => {
  const params = parseTrainerParams({ trainer: 'mlp', hidden: [16], epochs: 50, batchSize: 10 });
  let polls = 0;
  const r = await trainModel({
    params,
    train: data,
    validation: data,
    dim,
    classes,
    shouldStop: () => ++polls > 7,
  });
  assert.equal(r.stopped, true);
  assert.equal(r.batchesRun, 7);
  assert.equal(polls, 8);
  assert.equal(r.epochsCompleted, 0);
  assert.equal(r.lastEpoch, undefined);
  // The weights trained so far are still usable.
  assert.ok(r.validation.accuracy > 0);
});

test('a stop requested from a timer is seen while training runs', async () => {
  const params = parseTrainerParams({ trainer: 'mlp', hidden: [64], epochs: 1000, batchSize: 8 });
  let stop = false;
  let batchesAtStop = -1;
  let batches = 0;
  const timer = setTimeout(() => {
    stop = true;
    batchesAtStop = batches;
  }, 30);
  const r = await trainModel({
    params,
    train: data,
    dim,
    classes,
    yieldEveryMs: 10,
    shouldStop: () => {
      if (!stop) batches++;
      return stop;
    },
  });
  clearTimeout(timer);
  assert.equal(r.stopped, true);
  assert.ok(batchesAtStop > 0, 'the timer fired during training');
  assert.equal(r.batchesRun, batchesAtStop, 'no batch started after the stop request');
  assert.ok(r.epochsCompleted < 1000);
});

test('onEpoch is awaited and a throw from it aborts training with that error', async () => {
  const params = parseTrainerParams({ trainer: 'softmax', epochs: 10 });
  const seen: number[] = [];
  await assert.rejects(
    trainModel({
      params,
      train: data,
      dim,
      classes,
      onEpoch: async (e) => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(e.epoch);
        if (e.epoch === 3) throw new Error('budget exhausted');
      },
    }),
    /budget exhausted/,
  );
  assert.deepEqual(seen, [1, 2, 3]);
});

test('labels outside 0..classes-1 are rejected before training', async () => {
  const params = parseTrainerParams({ trainer: 'softmax', epochs: 1 });
  const y = Int32Array.from(data.y);
  y[5] = classes;
  await assert.rejects(
    trainModel({ params, train: { ...data, y }, dim, classes }),
    /row 5 has label 5, outside 0..4/,
  );
});
