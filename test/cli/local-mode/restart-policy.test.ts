import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_RESTART_POLICY as P,
  describeExit,
  nextAttempt,
  restartDelay,
} from '../../../cli/local/restart-policy.js';

test('restart delays start at 100 ms, double, and stop growing at 5 s', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map((a) => restartDelay(a, P)),
    [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000],
  );
});

test('a process that stayed up 10 s counts its next crash as a first one', () => {
  assert.equal(nextAttempt(0, 50, P), 1);
  assert.equal(nextAttempt(4, 9_999, P), 5);
  assert.equal(nextAttempt(4, 10_000, P), 1);
});

test('exits are described by signal, else by code', () => {
  assert.equal(describeExit(null, 'SIGKILL'), 'signal SIGKILL');
  assert.equal(describeExit(1, null), 'code 1');
  assert.equal(describeExit(null, null), 'code unknown');
});
