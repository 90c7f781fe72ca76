import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDataset } from '../../../../services/data-intake/parse/index.js';
import { chunks, collect, rejectsWith } from './helpers.js';

const jsonl = (text: string, opts = {}) =>
  parseDataset(chunks(text), { filename: 'd.jsonl', ...opts });

describe('json lines parsing', () => {
  test('flat objects: keys name the features, null is missing, text labels are classes', async () => {
    const p = await jsonl(
      '{"a":1,"b":2,"label":"cat"}\n\n{"b":4,"a":3,"label":"ant"}\n{"a":null,"label":"cat"}\n',
    );
    assert.deepEqual(p.info.featureNames, ['a', 'b']);
    assert.deepEqual(p.info.labelNames, ['ant', 'cat']);
    const got = await collect(p);
    assert.deepEqual(got.features, [
      [1, 2],
      [3, 4],
      [NaN, NaN],
    ]);
    assert.deepEqual(got.labels, [1, 0, 1]);
  });

  test('vector and array rows', async () => {
    const vec = await collect(await jsonl('{"x":[1,2,3],"y":0.5}\n{"x":[4,5,6],"y":1.5}\n'));
    assert.deepEqual(vec.features, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(vec.labels, [0.5, 1.5]);
    const arr = await collect(await jsonl('[1,2,0]\n[3,4,1]\n'));
    assert.deepEqual(arr.features, [
      [1, 2],
      [3, 4],
    ]);
  });

  test('sniffed from content without a name', async () => {
    const p = await parseDataset(chunks('{"features":[1],"label":1}\n'));
    assert.equal(p.info.format, 'jsonl');
  });

  test('bad input: invalid JSON with its column, a text feature, a missing label, a wrong width', async () => {
    await rejectsWith(jsonl('{"a":1,"label":0}\n{"a":1,,"label":0}\n'), 'BAD_INPUT', {
      line: 2,
      col: 8,
      reason: 'invalid JSON',
    });
    await rejectsWith(jsonl('{"a":"x","label":0}\n'), 'BAD_INPUT', {
      line: 1,
      reason: 'expected a number for a',
    });
    await rejectsWith(jsonl('{"a":1,"label":0}\n{"a":2}\n'), 'BAD_INPUT', {
      line: 2,
      reason: 'label missing',
    });
    await rejectsWith(jsonl('{"a":1,"label":0}\n{"a":2,"b":1,"label":0}\n'), 'BAD_INPUT', {
      line: 2,
      reason: 'unknown feature "b"',
    });
    await rejectsWith(jsonl('{"x":[1,2],"y":0}\n{"x":[1],"y":0}\n'), 'BAD_INPUT', { line: 2 });
  });
});
