import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseDataset, type ParseOptions } from '../../../../services/data-intake/parse/index.js';
import { chunks, collect, FIXTURES, rejectsWith } from './helpers.js';

const arff = (text: string | Buffer, opts: ParseOptions = {}, size = 7) =>
  parseDataset(chunks(text, size), { format: 'arff', ...opts });

const WEATHER = `% a comment before anything
@relation weather

@attribute outlook {sunny, overcast, rainy}
@attribute temperature numeric
@attribute humidity real % trailing comment
@attribute windy {TRUE, FALSE}
@attribute play {yes, no}

@data
sunny,85,85,FALSE,no
overcast,83,?,TRUE,yes
% a comment between rows
rainy, 70 , 96 ,FALSE,yes % and after one
?,64,65,TRUE,yes
`;

describe('ARFF parsing', () => {
  test('dense rows: nominal features as indices, ? as NaN, comments anywhere', async () => {
    const p = await arff(WEATHER);
    assert.equal(p.info.format, 'arff');
    assert.deepEqual(p.info.featureNames, ['outlook', 'temperature', 'humidity', 'windy']);
    assert.equal(p.info.labelKind, 'class');
    assert.deepEqual(p.info.labelNames, ['yes', 'no'], 'the declared order, not sorted');
    const rows = await collect(p);
    assert.deepEqual(rows.features, [
      [0, 85, 85, 1],
      [1, 83, NaN, 0],
      [2, 70, 96, 1],
      [NaN, 64, 65, 0],
    ]);
    assert.deepEqual(rows.labels, [1, 0, 0, 0]);
  });

  test('the committed iris.arff: detected by its @relation after % comments', async () => {
    const bytes = readFileSync(join(FIXTURES, 'iris.arff'));
    const p = await parseDataset(chunks(bytes, 333));
    assert.equal(p.info.format, 'arff');
    assert.equal(p.info.count, 150);
    assert.deepEqual(p.info.featureNames, [
      'sepallength',
      'sepalwidth',
      'petal length',
      'petalwidth',
    ]);
    assert.deepEqual(p.info.labelNames, ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']);
    const rows = await collect(p);
    assert.deepEqual(
      rows.features[0]!.map((v) => Math.fround(v)),
      [5.1, 3.5, 1.4, 0.2].map(Math.fround),
    );
    assert.deepEqual(
      [rows.labels[0], rows.labels[50], rows.labels[149]],
      [0, 1, 2],
      'a comment line between rows does not shift them',
    );
    const gz = await parseDataset(chunks(gzipSync(bytes), 100), { filename: 'iris.arff.gz' });
    assert.equal(gz.info.format, 'arff');
    assert.equal(gz.info.count, 150);
  });

  test('sparse rows: omitted values are 0, the first value of a nominal attribute', async () => {
    const p = await arff(`@RELATION docs
@ATTRIBUTE w0 NUMERIC
@ATTRIBUTE w1 NUMERIC
@ATTRIBUTE w2 NUMERIC
@ATTRIBUTE colour {red, green}
@ATTRIBUTE topic {sport, politics, science}
@DATA
{0 1.5, 2 3}
{1 2, 3 green, 4 science}
{4 politics, 0 -1}
{}
{2 ?, 4 sport}
`);
    assert.deepEqual(p.info.featureNames, ['w0', 'w1', 'w2', 'colour']);
    const rows = await collect(p);
    assert.deepEqual(rows.features, [
      [1.5, 0, 3, 0],
      [0, 2, 0, 1],
      [-1, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, NaN, 0],
    ]);
    assert.deepEqual(rows.labels, [0, 2, 1, 0, 0]);
  });

  test('quoted names and values, both quote kinds, escapes, case-insensitive keywords', async () => {
    const p = await arff(`@Relation 'it\\'s quoted'
@Attribute "x value" Integer
@aTTribute 'y\\'s' REAL
@ATTRIBUTE 'class name' {'New York', "San Francisco", plain}
@data
1, 2.5, 'New York'
"3",4,"San Francisco"
5 6 plain
`);
    assert.deepEqual(p.info.featureNames, ['x value', "y's"]);
    assert.deepEqual(p.info.labelNames, ['New York', 'San Francisco', 'plain']);
    const rows = await collect(p);
    assert.deepEqual(rows.features, [
      [1, 2.5],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(rows.labels, [0, 1, 2]);
  });

  test('labelColumn picks another class attribute; a numeric class follows labelKind', async () => {
    const text = `@relation r
@attribute kind {a, b}
@attribute x numeric
@attribute y numeric
@data
a,1,0.5
b,2,1.25
`;
    const byName = await arff(text, { labelColumn: 'kind' });
    assert.deepEqual(byName.info.featureNames, ['x', 'y']);
    assert.deepEqual(byName.info.labelNames, ['a', 'b']);
    assert.deepEqual((await collect(byName)).features, [
      [1, 0.5],
      [2, 1.25],
    ]);
    const regression = await arff(text);
    assert.equal(regression.info.labelKind, 'regression', 'the last attribute, numeric');
    assert.deepEqual(regression.info.featureNames, ['kind', 'x']);
    assert.deepEqual((await collect(regression)).labels, [0.5, 1.25]);
    const byIndex = await arff(text, { labelColumn: 0 });
    assert.deepEqual(byIndex.info.labelNames, ['a', 'b']);
    await rejectsWith(arff(text, { labelColumn: 'kind', labelKind: 'regression' }), 'BAD_INPUT');
  });

  test('string, date and relational attributes are refused at their line', async () => {
    for (const [decl, why] of [
      ['@attribute note string', /string attributes are not supported/],
      ['@attribute when date "yyyy-MM-dd"', /date attributes are not supported/],
      ['@ATTRIBUTE bag RELATIONAL', /relational/],
      ['@attribute x float', /unknown type 'float'/],
    ] as const) {
      const err = await rejectsWith(
        arff(`@relation r\n@attribute a numeric\n${decl}\n@attribute c {p,q}\n@data\n1,x,p\n`),
        'BAD_INPUT',
        { line: 3, col: decl.indexOf(' ', 12) + 2 },
      );
      assert.match(err.message, why);
      assert.match(err.message, /at line 3, col \d+/);
    }
  });

  test('bad data lines say which attribute and what is wrong', async () => {
    const head = '@relation r\n@attribute a numeric\n@attribute b {x, y}\n@data\n';
    await rejectsWith(arff(`${head}1,x\nabc,y\n`), 'BAD_INPUT', {
      line: 6,
      col: 1,
      reason: "value 'abc' of attribute 'a' is not a number",
    });
    await rejectsWith(arff(`${head}1,z\n`), 'BAD_INPUT', {
      line: 5,
      col: 3,
      reason: "'z' is not a value of attribute 'b' {x, y}",
    });
    await rejectsWith(arff(`${head}1,x,3\n`), 'BAD_INPUT', {
      line: 5,
      col: 5,
      reason: 'expected 2 values, found 3',
    });
    await rejectsWith(arff(`${head}1,?\n`), 'BAD_INPUT', { line: 5, reason: 'label missing' });
    await rejectsWith(arff(`${head}1,'x\n`), 'BAD_INPUT', { line: 5, col: 3 });
    await rejectsWith(arff(`${head}1,x,{2}\n`), 'BAD_INPUT', {
      reason: 'instance weights ({weight} after the values) are not supported',
    });
    await rejectsWith(arff(`${head}{0 1, 0 2}\n`), 'BAD_INPUT', {
      line: 5,
      col: 7,
      reason: 'attribute index 0 set twice',
    });
    await rejectsWith(arff(`${head}{5 1}\n`), 'BAD_INPUT', {
      reason: 'attribute index 5 is outside 0..1',
    });
    await rejectsWith(arff(`${head}{0.5 1}\n`), 'BAD_INPUT', {
      col: 2,
      reason: "attribute index '0.5' is not a whole number",
    });
    await rejectsWith(arff(`${head}{0 1, 1 x\n`), 'BAD_INPUT', { line: 5 });
  });

  test('a header without @data, or without attributes, is refused', async () => {
    await rejectsWith(arff('@relation r\n@attribute a numeric\n'), 'BAD_INPUT');
    await rejectsWith(arff('@relation r\n@data\n1\n'), 'BAD_INPUT', {
      line: 2,
      reason: '@data before any @attribute',
    });
    await rejectsWith(
      arff('@relation r\n@attribute a numeric\n@attribute a numeric\n'),
      'BAD_INPUT',
      {
        line: 3,
        reason: "attribute 'a' is declared twice",
      },
    );
    await rejectsWith(arff('@relation r\nhello\n'), 'BAD_INPUT', { line: 2, col: 1 });
    await rejectsWith(
      arff('@relation r\n@attribute a numeric\n@attribute b {x,y}\n@data\n'),
      'BAD_INPUT',
      {
        reason: 'empty',
      },
    );
  });

  test('a file with a byte order mark and CRLF lines', async () => {
    const text =
      '\ufeff@relation r\r\n@attribute a numeric\r\n@attribute c {p,q}\r\n@data\r\n1,q\r\n';
    const p = await parseDataset(chunks(text, 3));
    assert.equal(p.info.format, 'arff');
    assert.deepEqual((await collect(p)).labels, [1]);
  });
});
