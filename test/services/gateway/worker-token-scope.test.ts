/**
 * A session's worker token (`smw_…`) as the attack: it may read its own dataset version, report
 * its own events and upload to its own model while its session runs, and nothing else: no
 * other dataset, no deletion, no push, no new session, no inference, no WebSocket. Once the
 * session has ended, it is refused everywhere (401) within a second.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { workerToken } from '../../../shared/index.js';
import { api, startLongTraining } from '../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../helpers/digits-platform.js';
import { storeDigits } from '../../helpers/datasets.js';
import { waitFor } from '../../helpers/wait.js';

let d: DigitsPlatform;

before(async () => {
  d = await startDigitsPlatform();
  await storeDigits(d.datasets, 'other');
});
after(async () => {
  await d?.close();
});

async function as(
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  const res = await fetch(d.p.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined
      ? { body: typeof body === 'string' || body instanceof Buffer ? body : JSON.stringify(body) }
      : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* binary rows */
  }
  return { status: res.status, body: parsed };
}

/** What an attacker holding the token of `sessionId` tries beyond that session. */
async function outsideTheSession(token: string, otherSession: string) {
  return {
    deleteOtherVersion: (await as(token, 'DELETE', '/api/v1/datasets/other/versions/1')).status,
    pushOther: (await as(token, 'POST', '/api/v1/datasets/other?format=csv', '1,2,0\n', 'text/csv'))
      .status,
    readOther: (await as(token, 'GET', '/api/v1/datasets/other/versions/1')).status,
    startSession: (
      await as(token, 'POST', '/api/v1/sessions', { model: 'pwned', dataset: 'other' })
    ).status,
    otherModel: (
      await as(
        token,
        'POST',
        '/api/v1/models/pwned/generations',
        Buffer.from('x'),
        'application/octet-stream',
      )
    ).status,
    otherEvents: (
      await as(token, 'POST', `/api/v1/sessions/${otherSession}/events`, {
        seq: 1,
        event: { kind: 'log', payload: { lines: ['forged'] } },
      })
    ).status,
    stopOther: (await as(token, 'POST', `/api/v1/sessions/${otherSession}/stop`)).status,
    tokens: (await as(token, 'GET', '/api/v1/tokens')).status,
    createToken: (await as(token, 'POST', '/api/v1/tokens', { name: 'x', role: 'admin' })).status,
  };
}

test('a running session worker token reaches its own session resources and nothing else', async () => {
  const id = await startLongTraining(d.p, 'scoped');
  const other = await startLongTraining(d.p, 'bystander');
  const token = workerToken(id, d.p.token);
  try {
    const own = await as(token, 'GET', '/api/v1/datasets/digits/versions/1');
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const rows = await as(
      token,
      'GET',
      '/api/v1/datasets/digits/versions/1/rows?start=0&count=2&format=json',
    );
    assert.equal(rows.status, 200, JSON.stringify(rows.body));
    assert.equal((await as(token, 'GET', `/api/v1/sessions/${id}`)).status, 200);

    const tried = await outsideTheSession(token, other);
    for (const [what, status] of Object.entries(tried)) {
      assert.equal(status, 403, `${what} answered ${status}`);
    }
    // inference is not a worker's business either
    const infer = await as(token, 'POST', '/v2/models/scoped/infer', { inputs: [] });
    assert.equal(infer.status, 403);
    // nor the gateway's WebSocket
    const ws = new WebSocket(`${d.p.url.replace('http', 'ws')}/api/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const refused = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    assert.equal(refused, 403);
    // nothing happened to the other dataset or session
    assert.equal((await d.datasets.getVersion('other', 1)).version, 1);
    assert.equal((await api(d.p, 'GET', '/api/v1/datasets/other')).body.latest, 1);
  } finally {
    await api(d.p, 'POST', `/api/v1/sessions/${id}/stop`);
    await api(d.p, 'POST', `/api/v1/sessions/${other}/stop`);
  }
});

test("a finished session's worker token is refused everywhere within a second of its end", async () => {
  const id = await startLongTraining(d.p, 'finished');
  const other = await startLongTraining(d.p, 'bystander2');
  const token = workerToken(id, d.p.token);
  await waitFor(
    async () => (await as(token, 'GET', '/api/v1/datasets/digits/versions/1')).status === 200,
    { timeoutMs: 10_000, what: 'the token to work while its session runs' },
  );
  assert.equal((await api(d.p, 'POST', `/api/v1/sessions/${id}/stop`)).status, 200);
  await waitFor(
    async () => (await api(d.p, 'GET', `/api/v1/sessions/${id}`)).body.state === 'stopped',
    { timeoutMs: 20_000, what: 'the session to end' },
  );
  const ended = Date.now();
  await waitFor(
    async () => (await as(token, 'GET', '/api/v1/datasets/digits/versions/1')).status === 401,
    { timeoutMs: 3_000, intervalMs: 50, what: 'the token to be refused' },
  );
  assert.ok(Date.now() - ended <= 1_500, `refused ${Date.now() - ended} ms after the end`);
  const own = await as(token, 'POST', `/api/v1/sessions/${id}/events`, {
    seq: 99,
    event: { kind: 'log', payload: { lines: ['late'] } },
  });
  assert.equal(own.status, 401);
  assert.match(String(own.body?.message), /ended/);
  const tried = await outsideTheSession(token, other);
  for (const [what, status] of Object.entries(tried)) {
    assert.equal(status, 401, `${what} answered ${status}`);
  }
  assert.equal((await d.datasets.getVersion('other', 1)).version, 1, 'the other dataset is intact');
  await api(d.p, 'POST', `/api/v1/sessions/${other}/stop`);
});

test('a token naming a session that does not exist is refused', async () => {
  const token = workerToken('no-such-session', d.p.token);
  assert.equal((await as(token, 'GET', '/api/v1/datasets/digits/versions/1')).status, 401);
});
