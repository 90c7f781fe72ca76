import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { parseDataset, type ParseOptions } from '../../../../services/data-intake/parse/index.js';
import { chunks, collect, rejectsWith, FIXTURES } from './helpers.js';

const csv = (text: string, opts: ParseOptions = {}) =>
  parseDataset(chunks(text), { format: 'csv', ...opts });

describe('csv parsing', () => {
  test('real digits.csv.gz: gzip by magic bytes, no header, 64 features then the label', async () => {
    const p = await parseDataset(createReadStream(join(FIXTURES, 'digits.csv.gz')));
    assert.equal(p.info.gzip, true);
    assert.equal(p.info.format, 'csv');
    assert.equal(p.info.count, 1797);
    assert.equal(p.info.features, 64);
    assert.deepEqual(p.info.labelNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const got = await collect(p);
    assert.deepEqual(got.features[0]!.slice(0, 6), [0, 0, 5, 13, 9, 1]);
    assert.deepEqual(got.labels.slice(0, 3), [0, 1, 2]);
  });

  test("real iris.csv: sklearn's `150,4,setosa,versicolor,virginica` first line names the classes", async () => {
    const p = await parseDataset(createReadStream(join(FIXTURES, 'iris.csv')), {
      filename: 'iris.csv',
    });
    assert.equal(p.info.count, 150);
    assert.equal(p.info.features, 4);
    assert.deepEqual(p.info.labelNames, ['setosa', 'versicolor', 'virginica']);
    const got = await collect(p);
    assert.deepEqual(got.features[0], [5.1, 3.5, 1.4, 0.2].map(Math.fround));
    assert.equal(got.labels[0], 0);
    assert.equal(got.labels[149], 2);
  });

  test('iris read as plain data with skipLines and explicit columns', async () => {
    const p = await parseDataset(createReadStream(join(FIXTURES, 'iris.csv')), {
      format: 'csv',
      skipLines: 1,
      header: false,
      columns: ['sl', 'sw', 'pl', 'pw', 'species'],
      labelColumn: 'species',
    });
    assert.equal(p.info.count, 150);
    assert.deepEqual(p.info.featureNames, ['sl', 'sw', 'pl', 'pw']);
    assert.deepEqual(p.info.labelNames, ['0', '1', '2']);
  });

  test('a header names features; text labels map to sorted ids', async () => {
    const p = await csv('a,b,kind\n1,2,dog\n3,4,cat\n5,6,dog\n');
    assert.deepEqual(p.info.featureNames, ['a', 'b']);
    assert.deepEqual(p.info.labelNames, ['cat', 'dog']);
    const got = await collect(p);
    assert.deepEqual(got.features, [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(got.labels, [1, 0, 1]);
  });

  test('the label column can be named or indexed, anywhere in the row', async () => {
    const named = await collect(await csv('y,a,b\n0.5,1,2\n', { labelColumn: 'y' }));
    assert.deepEqual(named.features, [[1, 2]]);
    assert.deepEqual(named.labels, [0.5]);
    const indexed = await collect(await csv('7,1,2\n8,3,4\n', { labelColumn: 0 }));
    assert.deepEqual(indexed.features, [
      [1, 2],
      [3, 4],
    ]);
    await rejectsWith(csv('a,b\n1,2\n', { labelColumn: 'nope' }), 'BAD_INPUT');
  });

  test('headerless data with text labels is not mistaken for a header', async () => {
    const p = await csv('1,2,x\n3,4,y\n');
    assert.equal(p.info.count, 2);
    assert.equal(p.info.featureNames, undefined);
  });

  test('quoted fields, CRLF line ends, tabs and missing values', async () => {
    const p = await csv('"a, first",b,label\r\n"1.5",,"big ""one"""\r\n2,NA,small\r\n');
    assert.deepEqual(p.info.featureNames, ['a, first', 'b']);
    assert.deepEqual(p.info.labelNames, ['big "one"', 'small']);
    const got = await collect(p);
    assert.deepEqual(got.features, [
      [1.5, NaN],
      [2, NaN],
    ]);
    const tsv = await collect(await csv('a\tb\tl\n1\t2\t0\n'));
    assert.deepEqual(tsv.features, [[1, 2]]);
  });

  test('regression labels from a numeric label column', async () => {
    const p = await csv('x,y\n1,0.25\n2,0.5\n');
    assert.equal(p.info.labelKind, 'regression');
    assert.deepEqual((await collect(p)).labels, [0.25, 0.5]);
  });

  test('gzip of a CSV is detected by magic bytes whatever the name says', async () => {
    const p = await parseDataset(chunks(gzipSync('a,l\n1,0\n2,1\n'), 5), {
      filename: 'upload.bin',
    });
    assert.equal(p.info.gzip, true);
    assert.equal(p.info.format, 'csv');
    assert.equal(p.info.count, 2);
  });

  test('bad input: a non-number, NaN, a wrong column count, a missing label, sklearn ids', async () => {
    await rejectsWith(
      csv('a,b,l\n1,2,0\n1,x,0\n'),
      'BAD_INPUT',
      { line: 3, col: 3, reason: "expected a number, found 'x'" },
      /at line 3, col 3$/,
    );
    await rejectsWith(csv('a,b,l\n1,nan,0\n'), 'BAD_INPUT', {
      line: 2,
      col: 3,
      reason: 'NaN or Inf value',
    });
    await rejectsWith(csv('a,b,l\n1,2,0\n1,2\n'), 'BAD_INPUT', {
      line: 3,
      reason: 'expected 3 columns, found 2',
    });
    await rejectsWith(csv('a,b,l\n1,2,0,9\n'), 'BAD_INPUT', {
      line: 2,
      reason: 'expected 3 columns, found more',
    });
    await rejectsWith(csv('a,b,l\n1,2,\n'), 'BAD_INPUT', {
      line: 2,
      col: 5,
      reason: 'label missing',
    });
    await rejectsWith(csv('3,2,a,b\n1,2,0\n1,2,5\n'), 'BAD_INPUT', {
      line: 3,
      reason: 'label must be a class id 0..1',
    });
    await rejectsWith(csv('a,b,l\n"1,2,0\n'), 'BAD_INPUT', { line: 2, col: 1 });
  });

  test('bad input: empty file, header only, a single column', async () => {
    await rejectsWith(csv(''), 'BAD_INPUT', { reason: 'empty' });
    await rejectsWith(csv('a,b,label\n'), 'BAD_INPUT', { reason: 'empty' });
    await rejectsWith(csv('1\n2\n'), 'BAD_INPUT');
  });
});
