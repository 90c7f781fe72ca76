import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UPLOAD_FLAGS } from '../../../services/data-intake/upload-options.js';
import { runCli } from '../../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { libsvm, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
let dir: string;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r);
  dir = mkdtempSync(join(tmpdir(), 'swarmml-cli-push-'));
});
after(async () => {
  await h.close();
  await r.stop();
  rmSync(dir, { recursive: true, force: true });
});

const swarmml = (...args: string[]) => runCli(h.url, h.token, ...args);

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const FLOWERS = 'species,petal_len,petal_wid\nsetosa,1.4,0.2\nvirginica,5.5,2.1\nsetosa,1.3,0.3\n';

test('a CSV with its text label first: the error suggests --label-column, which works', async () => {
  const path = file('flowers.csv', FLOWERS);
  const bad = await swarmml('dataset', 'push', path, '--name', 'flowers');
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /expected a number, found 'setosa' at line 2, col 1/);
  assert.match(bad.stderr, /hint: column 0 holds text.*pass --label-column 0/);

  // The API says the same in its own terms, as a field a client can act on.
  const api = await upload(h, 'flowers', FLOWERS, '?format=csv');
  assert.equal(api.status, 400);
  assert.deepEqual(api.body.details.suggest, { labelColumn: '0' });
  assert.match(api.body.details.hint, /labelColumn=0/);
  assert.match(api.body.message, /; column 0 holds text.*labelColumn=0$/);

  const good = await swarmml(
    '--json',
    'dataset',
    'push',
    path,
    '--name',
    'flowers',
    '--label-column',
    '0',
  );
  assert.equal(good.code, 0, good.stderr);
  const v = JSON.parse(good.stdout);
  assert.deepEqual(v.featureNames, ['petal_len', 'petal_wid']);
  assert.deepEqual(v.labelNames, ['setosa', 'virginica']);
  assert.equal(v.count, 3);
});

/** One value per upload parameter; typed by the flag table, so a new parameter needs one here. */
const EVERY_FLAG: { [K in keyof typeof UPLOAD_FLAGS]: string[] } = {
  format: ['--format', 'csv'],
  filename: ['--filename', 'given.csv'],
  seed: ['--seed', '7'],
  fraction: ['--fraction', '0.5'],
  labelKind: ['--label-kind', 'class'],
  features: ['--features', '2'],
  indexBase: ['--index-base', '0'],
  header: ['--no-header'],
  labelColumn: ['--label-column', 'kind'],
  columns: ['--columns', 'x,kind,y'],
  delimiter: ['--delimiter', ';'],
  skipLines: ['--skip-lines', '1'],
  resize: ['--resize', '2x2'],
  channels: ['--channels', '1'],
  force: ['--force'],
};

test('every upload option is a flag that reaches the API', async () => {
  const path = file('semi.txt', 'exported by a tool, not data\n1;a;2\n3;b;4\n5;a;6\n');
  const args = Object.values(EVERY_FLAG).flat();
  const first = await swarmml('--json', 'dataset', 'push', path, '--name', 'flags', ...args);
  assert.equal(first.code, 0, first.stderr);
  const v = JSON.parse(first.stdout);
  // What the CSV flags did to the rows.
  assert.equal(v.count, 3, '--skip-lines 1 and --no-header');
  assert.deepEqual(v.featureNames, ['x', 'y'], '--columns, --label-column');
  assert.deepEqual(v.labelNames, ['a', 'b']);
  assert.deepEqual([v.split.seed, v.split.validationFraction], [7, 0.5]);
  assert.equal(v.source.filename, 'given.csv');
  // What the version records having been asked: the other formats' options too.
  assert.deepEqual(v.source.options, {
    channels: '1',
    columns: 'x,kind,y',
    delimiter: ';',
    features: 2,
    format: 'csv',
    header: 'false',
    indexBase: '0',
    labelColumn: 'kind',
    labelKind: 'class',
    resize: '2x2',
    skipLines: 1,
  });
  const covered = [...Object.keys(v.source.options), 'filename', 'seed', 'fraction', 'force'];
  assert.deepEqual(covered.sort(), Object.keys(UPLOAD_FLAGS).sort());

  // The same push again is identical to v1, but --force is among the flags.
  const second = await swarmml('--json', 'dataset', 'push', path, '--name', 'flags', ...args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).version, 2);
});

test('pushing the same file twice says so and makes no version; --force makes one', async () => {
  const path = file('same.svm', libsvm(120, 4));
  const v1 = await swarmml('dataset', 'push', path, '--name', 'twice');
  assert.equal(v1.code, 0, v1.stderr);
  assert.match(v1.stdout, /^twice@v1: 120 rows/);
  const again = await swarmml('dataset', 'push', path, '--name', 'twice');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'twice: identical to v1, no new version (--force makes one anyway)\n');
  const forced = await swarmml('dataset', 'push', path, '--name', 'twice', '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^twice@v2: 120 rows/);
});

test("dataset show names the features: stored names, else the file's own numbering", async () => {
  const csv = file('named.csv', FLOWERS);
  assert.equal(
    (await swarmml('dataset', 'push', csv, '--name', 'named', '--label-column', 'species')).code,
    0,
  );
  const named = await swarmml('dataset', 'show', 'named@1');
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stdout, /^features +petal_len, petal_wid$/m);
  assert.match(named.stdout, /^petal_len +[\d.]+ +[\d.]+ +0$/m);
  assert.match(named.stdout, /^petal_wid +[\d.]+ +[\d.]+ +0$/m);

  // libsvm counted from 1: the table says 1..4 as the file does, not 0..3.
  const svm = file('one-based.svm', libsvm(50, 4));
  assert.equal((await swarmml('dataset', 'push', svm, '--name', 'numbered')).code, 0);
  const numbered = await swarmml('dataset', 'show', 'numbered@1');
  assert.equal(numbered.code, 0, numbered.stderr);
  const featureColumn = numbered.stdout
    .split('\n')
    .slice(numbered.stdout.split('\n').findIndex((l) => l.startsWith('feature')) + 1)
    .filter((l) => /^\d/.test(l))
    .map((l) => l.split(/ +/)[0]);
  assert.deepEqual(featureColumn, ['1', '2', '3', '4']);
});
