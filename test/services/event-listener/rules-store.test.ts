import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LiveConfig } from '../../../shared/store/live-config.js';
import {
  getRules,
  putRules,
  rulesHistory,
  watchRules,
  type StoredRules,
} from '../../../shared/store/rules-store.js';
import { BadInput } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { RulesDocument, effectiveRules } from '../../../shared/protocol/rules.js';
import { Keys } from '../../../shared/store/keys.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const log = createLogger('test', 'silent');

describe('rules document', () => {
  test('every problem carries its path', () => {
    const r = RulesDocument.safeParse({
      stop: { lossRiseEpochs: 0, plateuEpochs: 3 },
      accept: { margin: -1 },
      retrain: [
        { model: 'digits', dataset: 'digits', cron: '61 * * * *' },
        { model: 'x', dataset: 'y' },
      ],
      perModel: { digits: { flag: { nonZeroExit: 'yes' } } },
    });
    assert.equal(r.success, false);
    const paths = r.error.issues.map((i) => i.path.join('.'));
    for (const p of [
      'stop',
      'stop.lossRiseEpochs',
      'accept.margin',
      'retrain.0.cron',
      'retrain.1',
      'perModel.digits.flag.nonZeroExit',
    ]) {
      assert.ok(paths.includes(p), `expected an issue at ${p}, got ${paths.join(', ')}`);
    }
    const unknown = r.error.issues.find((i) => i.path.join('.') === 'stop');
    assert.match(unknown!.message, /plateuEpochs/);
  });

  test('an empty document means the defaults; sections and overrides layer on them', () => {
    const none = effectiveRules(RulesDocument.parse({}));
    assert.equal(none.stop.lossRiseEpochs, 3);
    assert.equal(none.accept.metric, 'auto');
    assert.equal(none.accept.baselineMargin, 0.02);
    assert.deepEqual(none.accept.significance, { test: 'none', alpha: 0.05, maxRows: null });
    const doc = RulesDocument.parse({
      stop: { plateauEpochs: 9 },
      accept: { significance: { test: 'mcnemar' } },
      perModel: {
        m: {
          stop: { plateauEpochs: null },
          accept: { margin: 0.05, significance: { maxRows: 500 } },
        },
      },
    });
    // The significance section layers field by field, like the sections themselves.
    assert.deepEqual(effectiveRules(doc, 'm').accept.significance, {
      test: 'mcnemar',
      alpha: 0.05,
      maxRows: 500,
    });
    assert.throws(
      () => RulesDocument.parse({ accept: { significance: { alpha: 0.2 } } }),
      /alpha must be one of 0\.01, 0\.025, 0\.05, 0\.1/,
    );
    assert.equal(effectiveRules(doc, 'other').stop.plateauEpochs, 9);
    assert.equal(effectiveRules(doc, 'm').stop.plateauEpochs, null);
    assert.equal(effectiveRules(doc, 'm').accept.margin, 0.05);
    assert.equal(effectiveRules(doc, 'm').stop.lossRiseEpochs, 3);
  });
});

describe('rules store', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('a malformed put is BadInput naming the path, and nothing changes', async (t) => {
    const live = new LiveConfig(redis.client(), new Keys(redis.prefix()), { log });
    t.after(() => live.close());
    const first = await putRules(live, { accept: { margin: 0.01 } }, { author: 'alice' });
    assert.equal(first.version, 1);
    await assert.rejects(putRules(live, { accept: { margin: 'big' } }), (err: unknown) => {
      assert.ok(err instanceof BadInput);
      assert.equal(err.status, 400);
      assert.match(err.message, /accept\.margin/);
      const issues = (err.details as { issues: { path: string }[] }).issues;
      assert.equal(issues[0]!.path, 'accept.margin');
      return true;
    });
    const now = await getRules(live);
    assert.equal(now.version, 1);
    assert.equal(now.doc.accept?.margin, 0.01);
    assert.equal((await rulesHistory(live)).length, 1);
  });

  test('versions are kept and a watcher sees a change within a second', async (t) => {
    const keys = new Keys(redis.prefix());
    const writer = new LiveConfig(redis.client(), keys, { log });
    const reader = new LiveConfig(redis.client(), keys, { log });
    const seen: StoredRules[] = [];
    watchRules(reader, log, (r) => seen.push(r));
    await reader.start();
    t.after(() => Promise.all([reader.close(), writer.close()]));
    await waitFor(() => seen.length > 0, { what: 'the initial rules' });
    assert.equal(seen[0]!.version, 0);
    const t0 = Date.now();
    await putRules(writer, { stop: { plateauEpochs: 7 } }, { author: 'bob' });
    const applied = await waitFor(() => seen.find((r) => r.version === 1), {
      timeoutMs: 1000,
      what: 'version 1 applied',
    });
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(applied.doc.stop?.plateauEpochs, 7);
    await putRules(writer, { stop: { plateauEpochs: 8 } }, { ifVersion: 1 });
    await assert.rejects(putRules(writer, {}, { ifVersion: 1 }), /version 2, not 1/);
    const history = await rulesHistory(writer);
    assert.deepEqual(
      history.map((h) => h.version),
      [2, 1],
    );
    assert.equal(history[1]!.author, 'bob');
  });
});
