import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { putRules } from '../../../../shared/store/rules-store.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';
import { setup } from '../harness.js';

describe('retraining on an online accuracy drop', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('a window of labels below the rule queues one session; a good window queues none', async (t) => {
    const { start, sessions, registry, keys, client, events } = await setup(t, redis);
    await registry.addGeneration('digits', { type: 'classifier', weights: Buffer.from('w') });
    await registry.promote('digits', 1);
    const app = await start();
    await putRules(app.live, {
      retrain: [{ model: 'digits', dataset: 'digits', onlineAccuracyBelow: 0.8, minFeedback: 50 }],
    });
    await waitFor(() => app.listener.rulesVersion === 1, { what: 'rules v1' });
    const online = keys.modelGenOnline('digits', 1);
    const label = async (n: number, right: number) => {
      await client.hincrby(online, 'feedback', n);
      await client.hincrby(online, 'feedbackCorrect', right);
    };
    const windowEnd = async () =>
      Number(await client.hget(keys.listenerSamplesTrigger('digits', 'digits'), 'accFeedback'));

    // 55 of 60 right: the window is judged fine and closed, nothing queued.
    await label(60, 55);
    await waitFor(async () => ((await windowEnd()) === 60 ? true : undefined), {
      what: 'first window judged',
    });
    assert.equal((await sessions.list()).items.length, 0);

    // The next 60 labels: 30 right. The earlier good window does not dilute it.
    await label(60, 30);
    const { items } = await waitFor(
      async () => {
        const l = await sessions.list();
        return l.items.length > 0 ? l : undefined;
      },
      { what: 'a retraining session' },
    );
    assert.equal(items.length, 1);
    assert.equal(items[0]!.id, 'retrain-digits-digits-acc-g1-f120');
    assert.equal(items[0]!.trigger, 'online accuracy 0.5 on 60 labels of gen 1 (rule: below 0.8)');
    await waitFor(async () => ((await windowEnd()) === 120 ? true : undefined), {
      what: 'second window closed',
    });
    // Fewer labels than a window: nothing more, however bad.
    await label(20, 0);
    const triggered = (await events.range({ count: 1000 })).filter(
      (e) => e.kind === 'retrain.triggered',
    );
    assert.equal(triggered.length, 1);
    assert.equal((triggered[0]!.payload as { kind: string }).kind, 'onlineAccuracy');
    assert.equal((await sessions.list()).items.length, 1);
  });
});
