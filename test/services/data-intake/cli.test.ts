import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { libsvm, startIntakeHarness, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
let dir: string;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r);
  dir = mkdtempSync(join(tmpdir(), 'swarmml-cli-'));
});
after(async () => {
  await h.close();
  await r.stop();
  rmSync(dir, { recursive: true, force: true });
});

const swarmml = (...args: string[]) => runCli(h.url, h.token, ...args);

test('dataset push, ls and show with --json', async () => {
  const file = join(dir, 'small.svm');
  writeFileSync(file, libsvm(400, 6, 2));
  const pushed = await swarmml(
    '--json',
    'dataset',
    'push',
    file,
    '--name',
    'cli-set',
    '--seed',
    '3',
  );
  assert.equal(pushed.code, 0, pushed.stderr);
  const v = JSON.parse(pushed.stdout);
  assert.deepEqual(
    [v.name, v.version, v.count, v.features, v.split.seed],
    ['cli-set', 1, 400, 6, 3],
  );
  assert.equal(v.source.filename, 'small.svm');

  const ls = await swarmml('--json', 'dataset', 'ls');
  assert.equal(ls.code, 0, ls.stderr);
  assert.deepEqual(
    JSON.parse(ls.stdout).map((d: { name: string; latest: number }) => [d.name, d.latest]),
    [['cli-set', 1]],
  );

  const show = await swarmml('dataset', 'show', 'cli-set@1');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /cli-set@v1 {2}tabular, 6 features, 2 classes, format libsvm/);
  assert.match(show.stdout, /rows +400 +\(train \d+, validation \d+; seed 3/);

  const human = await swarmml('dataset', 'push', file, '--name', 'cli-set');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^cli-set@v2: 400 rows, 6 features, 2 classes \(libsvm\); .* MB\/s/);
});

test('a bad file fails with the line and a non-zero exit', async () => {
  const file = join(dir, 'bad.svm');
  writeFileSync(file, '1 1:0.5\n0 1:x\n');
  const res = await swarmml('dataset', 'push', file, '--name', 'cli-bad');
  assert.equal(res.code, 2);
  assert.match(res.stderr, /400 BAD_INPUT: value 'x' is not a number at line 2, col 5/);
});
