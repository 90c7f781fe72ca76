/**
 * Serving's direct port: a client calls a replica without the gateway's hop, with the API
 * tokens the gateway issued (read from the same Redis hash). Inference only; roles, expiry,
 * revocation within a second, and tokens the gateway must handle (rate-limited, a worker's)
 * sent back to it with a reason.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Keys, TokenLookup, createLogger, workerToken } from '../../../shared/index.js';
import { TokenStore } from '../../../services/gateway/auth/token-store.js';
import { createDirectServer } from '../../../services/serving/direct-server.js';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

const ADMIN = 'direct-port-admin-token-0123456789';
let r: TestRedis;
let s: Serving;
let direct: Server;
let url: string;
let tokens: TokenStore;

before(async () => {
  r = await startTestRedis();
  const keys = new Keys(r.prefix());
  s = await startServing(
    new InMemoryModelSource().put('mlp', 1, mlpModel([4, 8, 3]), { production: true }),
  );
  tokens = new TokenStore(r.client(), keys, ADMIN);
  const log = createLogger('direct-test', 'silent');
  direct = createDirectServer(s.app, new TokenLookup(r.client(), keys, { adminToken: ADMIN }), log);
  await new Promise<void>((resolve) => direct.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(direct.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => {
    direct?.close(() => resolve());
    direct?.closeAllConnections();
  });
  await s?.stop();
  await r?.stop();
});

const body = JSON.stringify(v2Body('x', [1, 4], [0.1, 0.2, 0.3, 0.4]));
async function infer(base: string, token?: string) {
  const res = await fetch(`${base}/v2/models/mlp/infer`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

test('a client token predicts on the direct port, with the answer of the main port', async () => {
  const { token } = await tokens.create('app', 'client');
  const viaDirect = await infer(url, token);
  assert.equal(viaDirect.status, 200, JSON.stringify(viaDirect.json));
  const viaMain = await infer(s.url);
  assert.deepEqual(viaDirect.json.outputs, viaMain.json.outputs);
  // the bootstrap admin token too
  assert.equal((await infer(url, ADMIN)).status, 200);
});

test('no token, an unknown or an expired one: 401 in the protocol shape', async () => {
  const none = await infer(url);
  assert.equal(none.status, 401);
  assert.match(String(none.json.error), /missing API token/);
  assert.equal((await infer(url, 'smt_not-a-token')).status, 401);
  const { token } = await tokens.create('old', 'client', 0, new Date(Date.now() - 1000));
  const expired = await infer(url, token);
  assert.equal(expired.status, 401);
  assert.match(String(expired.json.error), /expired/);
});

test('roles: a viewer reads metadata but may not predict', async () => {
  const { token } = await tokens.create('v', 'viewer');
  const refused = await infer(url, token);
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.error), /client role/);
  const meta = await fetch(`${url}/v2/models/mlp`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(meta.status, 200);
});

test('rate-limited and worker tokens are sent to the gateway, with the reason', async () => {
  const { token } = await tokens.create('limited', 'client', 5);
  const limited = await infer(url, token);
  assert.equal(limited.status, 403);
  assert.match(String(limited.json.error), /rate limit.*gateway/);
  const worker = await infer(url, workerToken('s-1', ADMIN));
  assert.equal(worker.status, 403);
  assert.match(String(worker.json.error), /worker token/);
});

test('inference only: health is open, management is not served here', async () => {
  assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
  const { token } = await tokens.create('ops', 'operator');
  for (const path of ['/metrics', '/internal/fleet']) {
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404, path);
    assert.match(((await res.json()) as { error: string }).error, /inference protocols only/);
  }
});

test('a revoked token is refused within a second', async () => {
  const { token, info } = await tokens.create('soon-gone', 'client');
  assert.equal((await infer(url, token)).status, 200);
  await tokens.revoke(info.id);
  const revokedAt = Date.now();
  await waitFor(async () => (await infer(url, token)).status === 401, {
    what: 'the revoked token refused',
    timeoutMs: 5_000,
  });
  // the lookup cache is at most 1 s; allow the machine's load on top
  assert.ok(Date.now() - revokedAt < 3_000, `refused after ${Date.now() - revokedAt} ms`);
});
