import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AppError,
  checkJsonDepth,
  jsonTooDeepAt,
  MAX_JSON_DEPTH,
  parseJson,
} from '../../../shared/index.js';

const deep = (n: number, inner = '1') => '['.repeat(n) + inner + ']'.repeat(n);

test('the depth of arrays and objects is measured on text and on bytes alike', () => {
  const cases: [string, number, number][] = [
    // text, max depth, where it goes too deep (-1: never)
    ['[[1]]', 2, -1],
    ['[[[1]]]', 2, 2],
    ['{"a":[{"b":[1]}]}', 4, -1],
    ['{"a":[{"b":[1]}]}', 3, 11],
    // brackets inside strings do not count, escaped quotes do not end them
    ['["[[[[{{{{"]', 1, -1],
    ['["\\"[[[["]', 1, -1],
    // an escaped backslash does end the string before the brackets
    ['["\\\\"[[]]', 2, 6],
    // text that is not JSON is measured as far as it goes (the parser says the rest)
    ['[[[', 2, 2],
    ['"never closed [[[[', 1, -1],
  ];
  for (const [text, max, at] of cases) {
    assert.equal(jsonTooDeepAt(text, max), at, `${text} (text)`);
    assert.equal(jsonTooDeepAt(Buffer.from(text), max), at, `${text} (bytes)`);
  }
  // Multi-byte UTF-8 holds no ASCII byte: a "[" in a string after "é" is still in the string.
  assert.equal(jsonTooDeepAt(Buffer.from('["é[[[["]'), 1), -1);
});

test(`${MAX_JSON_DEPTH} levels pass, one more is a 400 naming the limit`, () => {
  assert.doesNotThrow(() => checkJsonDepth(deep(MAX_JSON_DEPTH)));
  assert.throws(
    () => checkJsonDepth(deep(MAX_JSON_DEPTH + 1), 'message'),
    (err: unknown) =>
      err instanceof AppError &&
      err.status === 400 &&
      /message nests arrays and objects more than 64 levels deep/.test(err.message),
  );
});

test('parseJson, the shared body parser, refuses 10,000 levels before parsing', () => {
  assert.throws(() => parseJson(deep(10_000)), /more than 64 levels deep/);
  assert.deepEqual(parseJson('{"a":[1,{"b":"[[["}]}'), { a: [1, { b: '[[[' }] });
});
