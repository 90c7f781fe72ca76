/**
 * Queue names and Redis keys are storage keys: data already stored under a name is stranded
 * when the name changes. These pin the names that moved into `QUEUES` and `Keys`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keys, QUEUES } from '../../../shared/index.js';

test('queue names are the stored ones, all in QUEUES', () => {
  assert.deepEqual(QUEUES, {
    sessions: 'sessions',
    retrain: 'retrain',
    batchInfer: 'batch-infer',
    evaluations: 'evaluations',
    deliveries: 'deliveries',
    deliveriesDead: 'deliveries-dead',
  });
});

test("the event listener's keys are the stored ones", () => {
  const keys = new Keys('p');
  assert.equal(keys.listenerCursor(), 'p:listener:cursor');
  assert.equal(keys.listenerSamplesTrigger('m-1', 'digits'), 'p:listener:retrain:{m-1}:digits');
});
