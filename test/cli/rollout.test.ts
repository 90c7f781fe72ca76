/**
 * `swarmml rollout show|pause|resume|promote|abort` against a real platform (gateway, event
 * handler, event listener with its rollout loop): the gateway rewrites the state, the loop
 * carries it out through the handler, and a viewer may read but not command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, readLabels, readRollout, type StoredEvent } from '../../shared/index.js';
import { runCli } from '../helpers/cli.js';
import { api } from '../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../helpers/digits-platform.js';
import { waitFor } from '../helpers/wait.js';

let d: DigitsPlatform;
let operator: string;
let viewer: string;
before(async () => {
  d = await startDigitsPlatform();
  for (const role of ['operator', 'viewer']) {
    const t = await api(d.p, 'POST', '/api/v1/tokens', { name: `ops-${role}`, role });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    if (role === 'operator') operator = t.body.token as string;
    else viewer = t.body.token as string;
  }
});
after(async () => {
  await d?.close();
});

const as = (token: string, ...args: string[]) => runCli(d.p.url, token, ...args);
const archived = async (kind: string): Promise<StoredEvent[]> =>
  (await new EventLog(d.r.client(), d.keys).range({ count: 10_000 })).filter(
    (e) => e.kind === kind,
  );

/** Model `roll` with production gen 1 and a running rollout of candidate `gen`. */
async function rolloutOf(gen: number): Promise<void> {
  const { registry } = d;
  if (gen === 2) {
    await registry.addGeneration('roll', { type: 'classifier', weights: Buffer.from('g1') });
    await registry.promote('roll', 1);
  }
  const prod = (await registry.getProduction('roll'))!.gen;
  const g = await registry.addGeneration('roll', { weights: Buffer.from(`g${gen}`) });
  assert.equal(g.gen, gen);
  const started = await d.p.listener!.rollouts.start(
    {
      causeId: `test-${gen}`,
      decision: { action: 'accept', reason: 'measured better', model: 'roll', gen },
    },
    prod,
  );
  assert.equal(started, true);
}

test('show, pause and resume; a viewer reads but cannot command; promote goes through the handler once', async () => {
  await rolloutOf(2);
  const show = await as(viewer, 'rollout', 'show', 'roll');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^roll: gen 2 against production gen 1: running, shadow$/m);
  assert.match(show.stdout, /^labels: stable=1 canary=2$/m);

  const denied = await as(viewer, 'rollout', 'pause', 'roll');
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /403|FORBIDDEN|role/i);

  const paused = await as(operator, 'rollout', 'pause', 'roll', '--reason', 'checking dashboards');
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, /running|paused/);
  assert.equal((await readRollout(d.r.client(), d.keys, 'roll'))?.status, 'paused');
  const again = await as(operator, 'rollout', 'pause', 'roll');
  assert.notEqual(again.code, 0, 'a paused rollout cannot be paused again');
  assert.match(again.stderr, /is paused; pause needs it running/);
  const resumed = await as(operator, 'rollout', 'resume', 'roll');
  assert.equal(resumed.code, 0, resumed.stderr);

  const promoted = await as(operator, 'rollout', 'promote', 'roll');
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, /promoted, done/);
  await waitFor(
    async () => ((await d.registry.getProduction('roll'))?.gen === 2 ? true : undefined),
    { timeoutMs: 20_000, what: 'gen 2 promoted by the listener' },
  );
  await waitFor(
    async () =>
      (await readLabels(d.r.client(), d.keys, 'roll')).canary === undefined ? true : undefined,
    { timeoutMs: 10_000, what: 'labels moved' },
  );
  assert.deepEqual(await readLabels(d.r.client(), d.keys, 'roll'), { stable: 2 });
  const byGen2 = (await archived('generation.promoted')).filter(
    (e) => (e.payload as { model: string; gen: number }).gen === 2,
  );
  assert.equal(byGen2.length, 1);
  assert.match((byGen2[0]!.payload as { reason: string }).reason, /promoted by ops-operator/);
  const kinds = (await new EventLog(d.r.client(), d.keys).range({ count: 10_000 }))
    .map((e) => e.kind)
    .filter((k) => k.startsWith('rollout.') && k !== 'rollout.gate');
  assert.deepEqual(kinds, [
    'rollout.started',
    'rollout.paused',
    'rollout.resumed',
    'rollout.promoted',
  ]);
});

test('abort returns traffic to production and rejects the challenger with who and why', async () => {
  await rolloutOf(3);
  const r = await as(operator, '--json', 'rollout', 'abort', 'roll', '--reason', 'bad latency');
  assert.equal(r.code, 0, r.stderr);
  const view = JSON.parse(r.stdout) as { rollout: { status: string; canaryPercent: number } };
  assert.deepEqual([view.rollout.status, view.rollout.canaryPercent], ['aborted', 0]);
  const g3 = await waitFor(
    async () => {
      const g = await d.registry.getGeneration('roll', 3);
      return g.status === 'rejected' ? g : undefined;
    },
    { timeoutMs: 20_000, what: 'gen 3 rejected' },
  );
  assert.equal(g3.reason, 'aborted by ops-operator: bad latency');
  assert.equal((await d.registry.getProduction('roll'))?.gen, 2);
  const none = await as(operator, 'rollout', 'abort', 'roll');
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /is aborted; abort needs it running or paused/);
  // Documented in the OpenAPI document with the others.
  const doc = await api(d.p, 'GET', '/api/v1/openapi.json');
  const paths = Object.keys(doc.body.paths as object);
  for (const p of ['', '/promote', '/pause', '/resume', '/abort']) {
    assert.ok(paths.includes(`/api/v1/models/{name}/rollout${p}`), p);
  }
});
