import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { FIXTURES } from './parse/helpers.js';
import { call, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r);
});
after(async () => {
  await h.close();
  await r.stop();
});

const rows = (name: string, count = 10) =>
  call(h, 'GET', `/api/v1/datasets/${name}/versions/latest/rows?format=json&count=${count}`);

test('Weka iris.arff uploads with no hint: attribute names, class names, rows', async () => {
  const res = await upload(h, 'iris', readFileSync(join(FIXTURES, 'iris.arff')));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.format, 'arff');
  assert.equal(res.body.count, 150);
  assert.deepEqual(res.body.featureNames, [
    'sepallength',
    'sepalwidth',
    'petal length',
    'petalwidth',
  ]);
  assert.deepEqual(res.body.labelNames, ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']);
  assert.deepEqual(res.body.stats.labels.histogram, [50, 50, 50]);
  const got = await rows('iris', 1);
  assert.deepEqual(
    got.body.values[0].map((v: number) => Number(v.toFixed(4))),
    [5.1, 3.5, 1.4, 0.2],
  );
});

test('sparse rows with nominal values, ? and comments, named by ?format=arff', async () => {
  const body = `% bag of words, OpenML style
@RELATION 'tiny docs'
@ATTRIBUTE ball NUMERIC
@ATTRIBUTE vote NUMERIC
@ATTRIBUTE source {web, print}
@ATTRIBUTE topic {sport, politics}
@DATA
{0 2, 3 sport}   % the ball row
{1 3, 2 print, 3 politics}
% a comment line
{0 ?, 3 politics}
`;
  const res = await upload(h, 'docs', body, '?format=arff');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.featureNames, ['ball', 'vote', 'source']);
  assert.deepEqual(res.body.labelNames, ['sport', 'politics']);
  const got = await rows('docs');
  assert.deepEqual(got.body.values, [
    [2, 0, 0],
    [0, 3, 1],
    [null, 0, 0],
  ]);
  assert.deepEqual(got.body.labels, [0, 1, 1]);
  assert.deepEqual(res.body.stats.features.missing, [1, 0, 0]);
});

test('a string attribute is a 400 naming the line; nothing is stored', async () => {
  const body =
    '@relation r\n@attribute a numeric\n@attribute note string\n@attribute c {x,y}\n@data\n1,hi,x\n';
  const res = await upload(h, 'strings', body, '?filename=notes.arff');
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error, 'BAD_INPUT');
  assert.deepEqual([res.body.details.line, res.body.details.col], [3, 17]);
  assert.match(res.body.message, /attribute 'note': string attributes are not supported/);
  assert.equal((await call(h, 'GET', '/api/v1/datasets/strings')).status, 404);
});

test('labelColumn picks the class attribute of an ARFF upload', async () => {
  const body = '@relation r\n@attribute kind {a,b}\n@attribute x real\n@data\nb,1.5\na,2\n';
  const res = await upload(h, 'kinds', body, '?labelColumn=kind');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body.featureNames, ['x']);
  assert.deepEqual((await rows('kinds')).body.labels, [1, 0]);
});
