/**
 * While Redis is down, a session request is answered 503 with Retry-After at once (the
 * producer's client has no offline queue) instead of hanging, and works again once Redis is
 * back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';

let r: TestRedis;
let g: TestGateway;

before(async () => {
  r = await startTestRedis();
  g = await startTestGateway(r);
});
after(async () => {
  await g?.close();
  await r?.stop();
});

const post = (body: unknown) =>
  fetch(`${g.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('POST /api/v1/sessions answers 503 with Retry-After within a second while Redis is down', async () => {
  const request = { model: 'm', dataset: 'no-such-dataset' };
  // Up: the request reaches Redis, which knows no such dataset.
  assert.equal((await post(request)).status, 404);
  const probe = r.client();
  const connections = async () =>
    String(await probe.client('LIST'))
      .trim()
      .split('\n').length;
  const before = await connections();

  await r.server.stop();
  const t0 = performance.now();
  const res = await post(request);
  const elapsedMs = performance.now() - t0;
  const body = (await res.json()) as { error: string; message: string };
  assert.equal(res.status, 503, JSON.stringify(body));
  assert.equal(body.error, 'UNAVAILABLE');
  assert.match(body.message, /Redis/);
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After in seconds');
  assert.ok(elapsedMs < 1000, `answered in ${Math.round(elapsedMs)} ms`);

  await r.server.start();
  await waitFor(async () => (await post(request)).status === 404, {
    timeoutMs: 15_000,
    what: 'session requests served again once Redis is back',
  });
  // Every client of the gateway back before it closes: one still waiting to reconnect can
  // hold a close up (BullMQ's blocking connections) long past the test.
  await waitFor(async () => (await connections()) >= before, {
    timeoutMs: 30_000,
    what: "the gateway's Redis connections back",
  });
});
