/**
 * The WebSocket holds its token to HTTP's rules for the socket's whole life, written as the
 * attacks that got through when the token was checked only at the upgrade: a revoked or
 * expired token keeps its socket (events, subscriptions, predictions), and operations over
 * the socket escape the token's rate limit. Two gateways share one Redis, as replicas do.
 */
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, Keys } from '../../../shared/index.js';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { WS_CLOSE_UNAUTHORIZED } from '../../../services/gateway/http/ws-hub.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TestWs } from '../../helpers/ws-client.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, type Serving } from '../serving/harness.js';

let r: TestRedis;
let serving: Serving;
/** two replicas of the gateway over the same Redis and key prefix */
let a: TestGateway;
let b: TestGateway;
let prefix: string;
let events: EventLog;
const open: TestWs[] = [];

before(async () => {
  const models = new InMemoryModelSource().put('digits', 1, mlpModel([4, 8, 3]), {
    production: true,
  });
  [r, serving] = await Promise.all([startTestRedis(), startServing(models)]);
  prefix = r.prefix();
  const env = { SWARMML_PREFIX: prefix, SERVING_UPSTREAM: serving.url };
  a = await startTestGateway(r, { env });
  b = await startTestGateway(r, { env });
  events = new EventLog(r.client(), new Keys(prefix));
});
after(async () => {
  for (const ws of open) ws.close();
  await a?.close();
  await b?.close();
  await serving?.stop();
  await r?.stop();
});

interface Created {
  token: string;
  id: string;
  expires?: string;
}

async function createToken(body: Record<string, unknown>): Promise<Created> {
  const res = await fetch(`${a.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const out = (await res.json()) as Created;
  assert.equal(res.status, 201, JSON.stringify(out));
  return out;
}

async function revoke(g: TestGateway, id: string): Promise<void> {
  const res = await fetch(`${g.url}/api/v1/tokens/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${g.adminToken}` },
  });
  assert.equal(res.status, 204);
}

async function connect(g: TestGateway, token: string): Promise<TestWs> {
  const ws = await TestWs.open(g.url.replace('http', 'ws') + '/api/v1/ws', token);
  open.push(ws);
  return ws;
}

/** The socket's close, or a failure when it is still open `ms` after `since`. */
async function closedWithin(ws: TestWs, since: number, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the socket was still open ${ms} ms later`)),
      since + ms - Date.now(),
    );
  });
  try {
    return await Promise.race([ws.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

const digitsRequest = {
  inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [0.5, -1, 2, 0.25] }],
};

async function predictionsServed(): Promise<number> {
  const res = await fetch(`${serving.url}/v2/models/digits/stats`);
  const body = (await res.json()) as { model_stats: { inference_count: number }[] };
  return body.model_stats.reduce((n, s) => n + s.inference_count, 0);
}

test('a revoked viewer: its socket closes with 4401 within a second, and no event follows', async () => {
  const viewer = await createToken({ name: 'leaky-viewer', role: 'viewer' });
  const admin = await connect(a, a.adminToken);
  const ws = await connect(a, viewer.token);
  for (const s of [admin, ws]) {
    assert.equal((await s.request({ op: 'subscribe', id: 'sub', topics: ['events'] })).ok, true);
  }
  await events.append({ kind: 'probe.before', payload: { n: 1 } });
  await ws.next((m) => m.op === 'event' && m.event.kind === 'probe.before');

  const t0 = Date.now();
  await revoke(a, viewer.id);
  const closed = await closedWithin(ws, t0, 1000);
  assert.equal(closed.code, WS_CLOSE_UNAUTHORIZED);
  assert.match(closed.reason, /revoked/);

  // An event after the revocation reaches the admin's socket and not the revoked one.
  await events.append({ kind: 'probe.after', payload: { n: 2 } });
  await admin.next((m) => m.op === 'event' && m.event.kind === 'probe.after');
  assert.equal(
    ws.messages.some((m) => m.op === 'event' && m.event.kind === 'probe.after'),
    false,
  );
  await assert.rejects(connect(a, viewer.token), /HTTP 401/);
});

test('a revocation on one gateway closes the sockets on the other within a second', async () => {
  const client = await createToken({ name: 'other-replica', role: 'client' });
  const ws = await connect(b, client.token);
  const ok = await ws.request({ op: 'predict', id: 'p0', model: 'digits', request: digitsRequest });
  assert.equal(ok.ok, true, JSON.stringify(ok));

  const t0 = Date.now();
  await revoke(a, client.id);
  const closed = await closedWithin(ws, t0, 1000);
  assert.equal(closed.code, WS_CLOSE_UNAUTHORIZED);
  // HTTP on that replica refuses it as well.
  const http = await fetch(`${b.url}/v2/models/digits/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(digitsRequest),
  });
  assert.equal(http.status, 401);
});

test('a revocation whose message a gateway missed still closes its sockets (periodic re-check)', async () => {
  const client = await createToken({ name: 'missed-message', role: 'client' });
  const ws = await connect(b, client.token);
  assert.equal((await ws.request({ op: 'ping', id: 'p' })).ok, true);
  // Deleted in Redis with no message published: what a gateway that was disconnected from
  // the channel during the revocation sees.
  const hash = createHash('sha256').update(client.token).digest('hex');
  const t0 = Date.now();
  assert.equal(await r.client().hdel(new Keys(prefix).tokens(), hash), 1);
  // A re-check every 500 ms over lookups cached at most 500 ms: about a second at worst.
  const closed = await closedWithin(ws, t0, 2000);
  assert.equal(closed.code, WS_CLOSE_UNAUTHORIZED);
});

test('a token that expires: its socket closes at expiry with 4401, and HTTP refuses it', async () => {
  const bad = await fetch(`${a.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', role: 'viewer', expiresInS: 0 }),
  });
  assert.equal(bad.status, 400);

  const short = await createToken({ name: 'short', role: 'viewer', expiresInS: 1 });
  assert.ok(short.expires, 'the answer says when it expires');
  const expires = Date.parse(short.expires);
  const ws = await connect(a, short.token);
  const closed = await closedWithin(ws, expires, 1000);
  assert.equal(closed.code, WS_CLOSE_UNAUTHORIZED);
  assert.match(closed.reason, /expired/);
  assert.ok(closed.at >= expires, 'not before its expiry');
  const whoami = await fetch(`${a.url}/api/v1/whoami`, {
    headers: { authorization: `Bearer ${short.token}` },
  });
  assert.equal(whoami.status, 401);
  assert.match(((await whoami.json()) as { message: string }).message, /expired/);
  await assert.rejects(connect(a, short.token), /HTTP 401/);
});

test('predictions over the socket take from the same rate limit as HTTP; over it, retryAfter and the socket stays', async () => {
  const limit = 2;
  // HTTP first, as the probe did: 2 of 30 through.
  const httpToken = await createToken({ name: 'http-limited', role: 'client', rateLimit: limit });
  const statuses = await Promise.all(
    Array.from({ length: 30 }, () =>
      fetch(`${a.url}/v2/models/digits/infer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${httpToken.token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(digitsRequest),
      }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      }),
    ),
  );
  const httpOk = statuses.filter((s) => s === 200).length;
  assert.ok(httpOk >= 1 && httpOk <= limit + 1, `HTTP let ${httpOk} of 30 through`);

  // Over the socket, with a limit of 3/s: the upgrade and two operations take the bucket, and
  // the next operation is refused with when to retry, without being performed.
  const wsToken = await createToken({ name: 'ws-limited', role: 'client', rateLimit: 3 });
  const served = await predictionsServed();
  const ws = await connect(a, wsToken.token);
  const sub = await ws.request({ op: 'subscribe', id: 's', topics: ['models'] });
  assert.equal(sub.ok, true, JSON.stringify(sub));
  const first = await ws.request({
    op: 'predict',
    id: 'p1',
    model: 'digits',
    request: digitsRequest,
  });
  assert.equal(first.ok, true, JSON.stringify(first));
  const over = await ws.request({
    op: 'predict',
    id: 'p2',
    model: 'digits',
    request: digitsRequest,
  });
  assert.equal(over.ok, false);
  assert.equal(over.error.code, 'RATE_LIMITED');
  assert.ok(over.error.details.retryAfterS >= 1, JSON.stringify(over));
  // Any message counts, a malformed one too (it would be a 400 otherwise).
  ws.send({ op: 'nonsense', id: 'junk' });
  const junk = await ws.next((m) => m.op === 'reply' && m.id === 'junk');
  assert.equal(junk.error.code, 'RATE_LIMITED');
  // The bucket is HTTP's: HTTP with this token is limited now too.
  const http = await fetch(`${a.url}/api/v1/whoami`, {
    headers: { authorization: `Bearer ${wsToken.token}` },
  });
  assert.equal(http.status, 429);

  // The probe's burst: 30 at once get at most what refilled meanwhile.
  const replies = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      ws.request({ op: 'predict', id: `b${i}`, model: 'digits', request: digitsRequest }),
    ),
  );
  const ok = replies.filter((m) => m.ok).length;
  assert.ok(ok <= 1, `the socket let ${ok} of 30 through`);
  for (const m of replies.filter((x) => !x.ok)) {
    assert.equal(m.error.code, 'RATE_LIMITED', JSON.stringify(m));
    assert.ok(m.error.details.retryAfterS >= 1, JSON.stringify(m));
  }
  // Refused operations were not performed: the replica served only the allowed ones.
  assert.equal((await predictionsServed()) - served, 1 + ok);

  // The socket stays open: once the bucket refills, it works again.
  let attempt = 0;
  await waitFor(
    async () =>
      (
        await ws.request({
          op: 'predict',
          id: `again-${attempt++}`,
          model: 'digits',
          request: digitsRequest,
        })
      ).ok,
    { timeoutMs: 5000, intervalMs: 250, what: 'a prediction once the bucket refilled' },
  );
  assert.equal(ws.ws.readyState, ws.ws.OPEN);
});

test('?token= is taken on the WebSocket only: REST answers 401 and names the header', async () => {
  const res = await fetch(`${a.url}/api/v1/models?token=${encodeURIComponent(a.adminToken)}`);
  assert.equal(res.status, 401);
  const body = (await res.json()) as { error: string; message: string };
  assert.equal(body.error, 'UNAUTHORIZED');
  assert.match(body.message, /Authorization: Bearer/);
  // With the header as well: a token in a URL is refused, not ignored.
  const both = await fetch(`${a.url}/api/v1/models?token=x`, {
    headers: { authorization: `Bearer ${a.adminToken}` },
  });
  assert.equal(both.status, 401);
  const infer = await fetch(
    `${a.url}/v2/models/digits/infer?token=${encodeURIComponent(a.adminToken)}`,
    { method: 'POST', body: JSON.stringify(digitsRequest) },
  );
  assert.equal(infer.status, 401);

  const ws = await TestWs.open(
    `${a.url.replace('http', 'ws')}/api/v1/ws?token=${encodeURIComponent(a.adminToken)}`,
  );
  open.push(ws);
  assert.equal((await ws.request({ op: 'ping', id: 'q' })).ok, true);
});
