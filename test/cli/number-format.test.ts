import { test } from 'node:test';
import assert from 'node:assert/strict';
import { num } from '../../cli/output.js';
import { describe, epochBarFields } from '../../cli/commands/sessions.js';
import type { StreamedEvent } from '../../cli/ws-follow.js';

test('num prints absent, NaN and infinite values as such, never throwing', () => {
  assert.equal(num(0.123456), '0.1235');
  assert.equal(num(2), '2.0000');
  assert.equal(num(1234.5, 0), '1235');
  assert.equal(num(NaN), 'NaN');
  assert.equal(num(Infinity), 'Infinity');
  assert.equal(num(-Infinity, 1), '-Infinity');
  assert.equal(num(null), '—');
  assert.equal(num(undefined), '—');
  assert.equal(num('0.5'), '—', 'a string is not taken for a number');
});

const epochEvent = (payload: Record<string, unknown>): StreamedEvent => ({
  id: '1-0',
  time: '2026-01-01T00:00:00.000Z',
  kind: 'epoch',
  payload,
});

test('an epoch whose loss went NaN (null in JSON) shows NaN, not 0.0000, and does not crash', () => {
  const e = epochEvent({ epoch: 2, epochs: 5, loss: null, valAccuracy: 0.1 });
  assert.equal(describe(e), 'epoch 2/5 loss NaN val 0.1000');
  assert.deepEqual(epochBarFields(e.payload), { loss: 'NaN', acc: '—', val: '0.1000', sps: '—' });
  const fine = epochEvent({
    epoch: 1,
    epochs: 5,
    loss: 0.5,
    trainAccuracy: 0.9,
    samplesPerSec: 99.6,
  });
  assert.deepEqual(epochBarFields(fine.payload), {
    loss: '0.5000',
    acc: '0.9000',
    val: '—',
    sps: '100',
  });
  assert.equal(describe(epochEvent({ epoch: 1, epochs: 1 })), 'epoch 1/1 loss — val —');
});
