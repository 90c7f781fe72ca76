import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidationRow, splitInfo, validationMask } from '../../../../shared/index.js';
import { rejectsWith } from './helpers.js';

describe('deterministic train/validation split', () => {
  test('the same seed gives the same rows; another seed gives other rows', () => {
    const a = validationMask(42, 0.2, 0, 10_000);
    assert.deepEqual(validationMask(42, 0.2, 0, 10_000), a);
    const b = validationMask(43, 0.2, 0, 10_000);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    assert.ok(same < 0.75 * a.length, `seeds 42 and 43 agree on ${same} rows`);
    for (const i of [0, 1, 77, 9_999]) assert.equal(isValidationRow(42, 0.2, i), a[i] === 1);
  });

  test('the validation share is near the fraction, and splitInfo counts it exactly', () => {
    for (const fraction of [0.1, 0.25, 0.5]) {
      const info = splitInfo(7, fraction, 100_000);
      assert.equal(info.trainCount + info.validationCount, 100_000);
      assert.ok(Math.abs(info.validationCount / 100_000 - fraction) < 0.01, JSON.stringify(info));
      const mask = validationMask(7, fraction, 0, 100_000);
      assert.equal(
        mask.reduce((s, x) => s + x, 0),
        info.validationCount,
      );
    }
    assert.deepEqual(splitInfo(1, 0, 10), {
      seed: 1,
      validationFraction: 0,
      trainCount: 10,
      validationCount: 0,
    });
    assert.equal(splitInfo(1, 1, 10).validationCount, 10);
  });

  test('a mask for a window agrees with the whole-dataset mask; huge indices work', () => {
    const whole = validationMask(5, 0.3, 0, 2_000);
    assert.deepEqual(validationMask(5, 0.3, 1_500, 500), whole.subarray(1_500));
    const high = validationMask(5, 0.5, 2 ** 32, 1_000);
    const low = validationMask(5, 0.5, 0, 1_000);
    assert.notDeepEqual(high, low);
  });

  test('bad arguments are bad input', async () => {
    await rejectsWith(
      Promise.resolve().then(() => isValidationRow(1.5, 0.1, 0)),
      'BAD_INPUT',
    );
    await rejectsWith(
      Promise.resolve().then(() => isValidationRow(1, 1.1, 0)),
      'BAD_INPUT',
    );
    await rejectsWith(
      Promise.resolve().then(() => splitInfo(1, NaN, 3)),
      'BAD_INPUT',
    );
  });
});
