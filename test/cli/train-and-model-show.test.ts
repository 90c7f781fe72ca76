/**
 * What a new user hit, from the CLI against a real platform: `train --help` hid the
 * defaults and had no --normalize; `model show` listed generations flat, with nothing saying
 * which grew from which; a model never promoted showed `vm:g- unavailable`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { api } from '../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../helpers/digits-platform.js';

let d: DigitsPlatform;
before(async () => {
  d = await startDigitsPlatform({ listener: false });
});
after(async () => {
  await d?.close();
});

const swarmml = (...args: string[]) => runCli(d.p.url, d.p.token, ...args);

test('train --help shows a default for every option, --normalize among them', async () => {
  const help = await swarmml('train', '--help');
  assert.equal(help.code, 0, help.stderr);
  // Options start at column 3; their descriptions may wrap onto indented lines.
  const options = help.stdout
    .split(/\n(?= {2}-)/)
    .filter((o) => o.startsWith('  -'))
    .map((o) => o.replace(/\s+/g, ' ').trim());
  const required = ['--model', '--dataset', '-h, --help'];
  const rest = options.filter((o) => !required.some((r) => o.startsWith(r)));
  assert.ok(rest.length >= 14, options.join('\n'));
  for (const o of rest) assert.match(o, /\(default: [^)]+\)/, o);
  const want: [string, RegExp][] = [
    ['--epochs', /default: 20\b/],
    ['--batch-size', /default: 64\b/],
    ['--lr', /default: 0\.001 with adam, 0\.05 with sgd/],
    ['--seed', /default: 42\b/],
    ['--normalize', /auto \| standard \| minmax \| none \(default: auto/],
    ['--impute', /default: median/],
    ['--priority', /default: 50\b/],
    ['--time-budget', /default: 3600\b/],
  ];
  for (const [flag, re] of want) {
    const line = rest.find((o) => o.startsWith(flag));
    assert.ok(line, `${flag} is listed`);
    assert.match(line, re);
  }
});

test('train --normalize reaches the session as the trainer param; a bad value is refused', async () => {
  const out = await swarmml(
    '--json',
    'train',
    '--model',
    'scaled',
    '--dataset',
    'digits',
    '--normalize',
    'minmax',
    '--epochs',
    '1',
    '--no-follow',
  );
  assert.equal(out.code, 0, out.stderr);
  const id = (JSON.parse(out.stdout) as { id: string }).id;
  const s = await api(d.p, 'GET', `/api/v1/sessions/${id}`);
  assert.equal(s.body.request.params.normalize, 'minmax');
  await api(d.p, 'POST', `/api/v1/sessions/${id}/stop`);

  const bad = await swarmml(
    'train',
    '--model',
    'scaled',
    '--dataset',
    'digits',
    '--normalize',
    'zscore',
    '--no-follow',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /normalize must be 'auto', 'standard', 'minmax' or 'none'/);
});

test('a model with no production generation says "not served yet"', async () => {
  await d.registry.addGeneration('fresh', { type: 'classifier', weights: Buffer.from('w1') });
  const list = await swarmml('models');
  assert.equal(list.code, 0, list.stderr);
  const row = list.stdout.split('\n').find((l) => l.startsWith('fresh '));
  assert.ok(row, list.stdout);
  assert.match(row, /not served yet/);
  assert.doesNotMatch(list.stdout, /g- unavailable/);
  const show = await swarmml('model', 'show', 'fresh');
  assert.match(show.stdout, /^fresh \(classifier\) {2}production: none \(not served yet\)$/m);
});

test('model show draws each generation under the one it grew from', async () => {
  const add = () =>
    d.registry.addGeneration('flowers', { type: 'classifier', weights: Buffer.from('w') });
  assert.equal((await add()).parent, undefined, 'the first has no parent');
  await d.registry.promote('flowers', 1);
  assert.equal((await add()).parent, 1, 'compared with production gen 1');
  await add(); // gen 3, also against gen 1
  await d.registry.promote('flowers', 3);
  await add(); // gen 4, against gen 3
  // Warm-started from gen 2: the parent it names wins over production.
  const warm = await d.registry.addGeneration('flowers', { weights: Buffer.from('w'), parent: 2 });
  assert.equal(warm.parent, 2);

  const show = await swarmml('model', 'show', 'flowers');
  assert.equal(show.code, 0, show.stderr);
  const tree = show.stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.replace(/^(\s*[├└│─ ]*[●○] gen \d+).*$/, '$1').trimEnd());
  assert.deepEqual(tree, [
    'flowers (classifier)  production: 3',
    '  ○ gen 1',
    '  ├─ ○ gen 2',
    '  │  └─ ○ gen 5',
    '  └─ ● gen 3',
    '     └─ ○ gen 4',
  ]);
  const json = await swarmml('--json', 'model', 'show', 'flowers');
  const gens = (JSON.parse(json.stdout) as { generationsList: { gen: number; parent?: number }[] })
    .generationsList;
  assert.deepEqual(
    gens.map((g) => [g.gen, g.parent ?? null]),
    [
      [1, null],
      [2, 1],
      [3, 1],
      [4, 3],
      [5, 2],
    ],
  );
});
