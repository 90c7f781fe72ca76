import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, type ModelRegistry } from '../../../../shared/index.js';
import { runCli } from '../../../helpers/cli.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { storeBlankedDigits } from '../../../helpers/missing-values.js';
import { api, type TestPlatform } from '../../../helpers/platform.js';
import { waitFor } from '../../../helpers/wait.js';

type Ev = { kind: string; payload: Record<string, unknown> };

describe('sessions on data with missing values, and sessions whose loss turns NaN', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let registry: ModelRegistry;
  before(async () => {
    d = await startDigitsPlatform();
    ({ p, registry } = d);
    await storeBlankedDigits(d.datasets, 'digits-blank', 0.05);
  });
  after(async () => {
    await d?.close();
  });

  /** The session once it has ended and its session.finished is archived. */
  const ended = (id: string) =>
    waitFor(
      async () => {
        const s = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
        const done =
          ['succeeded', 'failed', 'stopped'].includes(s.state) &&
          (s.events as Ev[]).some((e) => e.kind === 'session.finished');
        return done ? s : undefined;
      },
      { timeoutMs: 90_000, what: `session ${id} to end` },
    );

  test('5% blank cells train as well as the complete data; the fills are on the generation', async () => {
    const params = { hidden: [64], epochs: 15, seed: 3 };
    const ids: string[] = [];
    for (const [model, dataset] of [
      ['complete', 'digits'],
      ['blanked', 'digits-blank'],
    ]) {
      const created = await api(p, 'POST', '/api/v1/sessions', { model, dataset, params });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ids.push(created.body.id as string);
    }
    for (const id of ids) {
      const s = await ended(id);
      assert.equal(s.state, 'succeeded', JSON.stringify(s.lastLogs));
    }
    const [complete] = await registry.listGenerations('complete');
    const [blanked] = await registry.listGenerations('blanked');
    const a = complete!.metrics.valAccuracy!;
    const b = blanked!.metrics.valAccuracy!;
    console.log(`# session val accuracy: complete ${a}, 5% blank ${b}`);
    assert.ok(Math.abs(a - b) <= 0.02, `complete ${a} vs blanked ${b}`);
    assert.equal(blanked!.params.impute, 'median');
    const imp = blanked!.extra?.imputation as { strategy: string; fill: number[] };
    assert.equal(imp.strategy, 'median');
    assert.equal(imp.fill.length, 64);
    assert.ok(imp.fill.every(Number.isFinite));
  });

  test('a loss that turns NaN: failed with the reason, nothing exported, nothing accepted', async () => {
    // Through the CLI, which followed this session live and used to die on a null loss.
    const cli = await runCli(
      p.url,
      p.token,
      'train',
      '--model',
      'diverges',
      '--dataset',
      'digits',
      '--optimizer',
      'sgd',
      '--lr',
      '10',
      '--hidden',
      '64',
      '--epochs',
      '30',
      '--impute',
      'zero',
    );
    assert.equal(cli.code, 1, cli.stderr);
    assert.doesNotMatch(cli.stderr, /TypeError/);
    const id = /session (\S+) queued/.exec(cli.stderr)![1]!;
    assert.match(cli.stdout, new RegExp(`session ${id} failed`));
    assert.match(cli.stderr, /session\.finished: failed exit 1 \(loss became NaN at epoch \d+/);

    const s = await ended(id);
    assert.equal(s.state, 'failed');
    assert.equal(s.request.params.impute, 'zero', 'the CLI passes --impute on');
    assert.match(s.reason, /^loss became NaN at epoch \d+: training diverged/);
    assert.deepEqual(await registry.listGenerations('diverges').catch(() => []), []);
    const events = s.events as Ev[];
    assert.ok(!events.some((e) => e.kind === 'generation.candidate'));
    const actions = events.filter((e) => e.kind === 'decision').map((e) => e.payload.action);
    assert.ok(!actions.includes('accept') && !actions.includes('reject'), actions.join(','));
    // Every epoch the trainer reported had a finite loss: the NaN one ended the session.
    assert.ok(events.filter((e) => e.kind === 'epoch').every((e) => e.payload.loss !== null));
  });

  test('the CLI prints an archived NaN loss (null) as NaN', async () => {
    // As an external trainer reports a loss that went NaN: JSON has no NaN, so null.
    const events = new EventLog(d.r.client(), d.keys);
    await events.append({
      sessionId: 'external-nan',
      kind: 'epoch',
      payload: { epoch: 3, epochs: 10, loss: null, valAccuracy: 0.1 },
    });
    // The whole archive: --session resolves its id against the session records first, and this
    // event belongs to no recorded session.
    const cli = await runCli(p.url, p.token, 'events');
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /epoch 3\/10 loss NaN val 0\.1000/);
  });
});
