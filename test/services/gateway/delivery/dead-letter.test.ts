import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { NotFound } from '../../../../shared/index.js';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';
import { deliveryHarness, prediction, type Harness, putDeliveryRules } from './harness.js';
import { webhookReceiver } from './receivers.js';
import { freePortBlock } from '../../../helpers/ports.js';

let r: TestRedis;
let h: Harness | undefined;
const closers: (() => Promise<unknown>)[] = [];
before(async () => (r = await startTestRedis()));
after(async () => {
  for (const c of closers) await c().catch(() => undefined);
  await h?.close();
  await r.stop();
});

test('a webhook down for good: deliveries land in the dead-letter queue and replay once it is back', async () => {
  h = await deliveryHarness(r);
  // Nothing listens here yet; below the ephemeral range, so no outgoing socket takes it meanwhile.
  const port = await freePortBlock(1);
  await putConfigDocument(h.live, 'delivery', {
    channels: {
      hook: {
        type: 'webhook',
        url: `http://127.0.0.1:${port}/in`,
        // Refused connections fail at once; the long timeout keeps a stalled machine from
        // turning them into timeouts.
        timeoutMs: 10_000,
        retry: { attempts: 3, backoffMs: 20 },
      },
    },
    formatters: { raw: { type: 'json' } },
  });
  await putDeliveryRules(h.live, {
    rules: [{ id: 'all', model: '*', channel: 'hook', formatter: 'raw' }],
  });
  await waitFor(() => h!.svc.applied().delivery === 2, { what: 'rules applied' });

  await h.svc.publish([0, 1, 2, 3, 4].map((i) => prediction(i)));
  // The delivery.dead event follows each move to the dead-letter queue: wait for both.
  const deadEvents = () => h!.events.filter((e) => e.type === 'delivery.dead').length;
  await waitFor(async () => (await h!.svc.countDead()) === 5 && deadEvents() === 5, {
    timeoutMs: 20_000,
    what: '5 dead deliveries and their 5 delivery.dead events',
  });
  const dead = await h.svc.listDead();
  assert.deepEqual(dead.map((d) => d.job.predictionId).sort(), ['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
  assert.ok(
    dead.every((d) => d.attempts === 3 && /ECONNREFUSED/.test(d.failedReason)),
    JSON.stringify(dead[0]),
  );
  // nothing left behind in the deliveries queue
  assert.equal(await h.svc.deliveries.getFailedCount(), 0);

  // A receiver that answers 500 is a failure too: one replayed id comes back dead.
  const failing = createServer((_q, s) => s.writeHead(500).end());
  await new Promise<void>((res) => failing.listen(port, '127.0.0.1', res));
  const firstId = dead[0]!.id;
  assert.deepEqual(await h.svc.replayDead({ ids: [firstId] }), {
    replayed: [firstId],
    missing: [],
  });
  await waitFor(async () => (await h!.svc.countDead()) === 5, {
    timeoutMs: 20_000,
    what: 'back in the dead queue',
  });
  const again = await h.svc.listDead();
  assert.ok(again.some((d) => d.failedReason.includes('answered 500')));
  await new Promise<void>((res) => failing.close(() => res()));

  // Dropping removes a dead delivery without sending it; unknown ids are named, not fatal.
  const gone = again[0]!;
  assert.deepEqual(await h.svc.dropDead({ ids: [gone.id, 'nope'] }), {
    dropped: [gone.id],
    missing: ['nope'],
  });
  assert.equal(await h.svc.countDead(), 4);
  assert.ok(
    h.events.some((e) => e.type === 'delivery.dropped' && (e.ids as string[])[0] === gone.id),
  );
  await assert.rejects(h.svc.dropDead({ ids: ['nope'] }), NotFound);

  const back = await webhookReceiver();
  closers.push(back.close);
  const { version } = await putConfigDocument(h.live, 'delivery', {
    channels: { hook: { type: 'webhook', url: back.url, retry: { attempts: 3, backoffMs: 20 } } },
    formatters: { raw: { type: 'json' } },
  });
  await waitFor(() => h!.svc.applied().delivery === version, { what: 'new url applied' });
  const res = await h.svc.replayDead({ all: true });
  assert.equal(res.replayed.length, 4);
  await waitFor(() => back.got.length === 4, { timeoutMs: 10_000, what: 'replayed deliveries' });
  assert.deepEqual(
    back.got.map((g) => (JSON.parse(g.body) as { id: string }).id).sort(),
    ['p-0', 'p-1', 'p-2', 'p-3', 'p-4'].filter((p) => p !== gone.job.predictionId),
  );
  assert.equal(await h.svc.countDead(), 0);
  await assert.rejects(h.svc.replayDead({ ids: ['nope'] }), NotFound);
});
