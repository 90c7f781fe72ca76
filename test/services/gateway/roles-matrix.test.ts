import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { roleAllows, type Role } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TestWs } from '../../helpers/ws-client.js';
import { API_ROUTES } from '../../../services/gateway/openapi/api-routes.js';
import { inferenceApi } from '../../../services/gateway/openapi/protocol-routes.js';
import type { RouteSpec } from '../../../services/gateway/openapi/route-spec.js';

const ROLES: Role[] = ['viewer', 'client', 'operator', 'admin'];
let r: TestRedis;
let g: TestGateway;
const tokens = {} as Record<Role, string>;

before(async () => {
  r = await startTestRedis();
  // Nothing listens on the intake, handler and serving ports: calls there fail fast (503).
  g = await startTestGateway(r, {
    env: {
      INTAKE_URL: 'http://127.0.0.1:9',
      EVENT_HANDLER_URL: 'http://127.0.0.1:9',
      SERVING_UPSTREAM: 'http://127.0.0.1:9',
    },
  });
  for (const role of ROLES) {
    const res = await fetch(`${g.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `matrix-${role}`, role }),
    });
    assert.equal(res.status, 201);
    tokens[role] = ((await res.json()) as { token: string }).token;
  }
});
after(async () => {
  await g.close();
  await r.stop();
});

// Parameters that name nothing (so allowed calls are harmless 4xx), except `kind`, which
// must be a real configuration kind for the route to be reached at all.
const PARAMS: Record<string, string> = { kind: 'delivery', v: '1', gen: '1' };

function concrete(route: RouteSpec): string {
  return route.path.replace(/\/:(\w+)/g, (_m, p: string) => `/${PARAMS[p] ?? 'matrix-none'}`);
}

async function call(route: RouteSpec, token?: string): Promise<number> {
  const res = await fetch(g.url + concrete(route), {
    method: route.method.toUpperCase(),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(route.method === 'get' || route.method === 'delete'
        ? {}
        : { 'content-type': 'application/json' }),
    },
    ...(route.method === 'get' || route.method === 'delete' ? {} : { body: '{}' }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

// Every declared REST route, and of the inference protocols (one gate in the proxy: read for
// GET, predict for POST) one route of each kind, since each allowed call there waits out the
// proxy's retry window on the replica that does not run here.
const INFERENCE = new Set<RouteSpec>([
  inferenceApi.v2Server,
  inferenceApi.v2Model,
  inferenceApi.v2Infer,
  inferenceApi.tfPredict,
]);
const ROUTES = API_ROUTES.filter((r) => (r.kind ?? 'rest') === 'rest' || INFERENCE.has(r));

test('every route: 401 without a token, 403 below its role, allowed at and above it', async () => {
  const wrong: string[] = [];
  for (const route of ROUTES) {
    const name = `${route.method.toUpperCase()} ${route.path}`;
    const anonymous = await call(route);
    if (route.permission === 'public') {
      if (anonymous !== 200) wrong.push(`${name} public: got ${anonymous}`);
      continue;
    }
    if (anonymous !== 401) wrong.push(`${name} without token: ${anonymous}`);
    const bogus = await call(route, 'smt_not-a-token');
    if (bogus !== 401) wrong.push(`${name} unknown token: ${bogus}`);
    for (const role of ROLES) {
      const status = await call(route, tokens[role]);
      const allowed = roleAllows(role, route.permission);
      if (!allowed && status !== 403) wrong.push(`${name} as ${role}: ${status}, want 403`);
      if (allowed && (status === 401 || status === 403 || (status >= 500 && status !== 503))) {
        wrong.push(`${name} as ${role}: ${status}, want it allowed`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('a revoked token is refused at once', async () => {
  const created = (await (
    await fetch(`${g.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'short-lived', role: 'viewer' }),
    })
  ).json()) as { token: string; id: string };
  const whoami = () =>
    fetch(`${g.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${created.token}` } });
  assert.equal((await whoami()).status, 200);
  const del = await fetch(`${g.url}/api/v1/tokens/${created.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${g.adminToken}` },
  });
  assert.equal(del.status, 204);
  assert.equal((await whoami()).status, 401);
});

test('the WebSocket checks the token at connect and filters topics by role', async () => {
  const ws = g.url.replace('http', 'ws') + '/api/v1/ws';
  await assert.rejects(TestWs.open(ws), /HTTP 401/);
  await assert.rejects(TestWs.open(ws, 'smt_not-a-token'), /HTTP 401/);
  const viewer = await TestWs.open(ws, tokens.viewer);
  try {
    const denied = await viewer.request({ op: 'subscribe', id: 's1', topics: ['security'] });
    assert.equal(denied.ok, false);
    assert.equal(denied.error.code, 'FORBIDDEN');
    const ok = await viewer.request({ op: 'subscribe', id: 's2', topics: ['delivery:alerts'] });
    assert.deepEqual(ok.result.topics, ['delivery:alerts']);
    const predict = await viewer.request({
      op: 'predict',
      id: 'p1',
      model: 'm',
      request: { inputs: [] },
    });
    assert.equal(predict.error.code, 'FORBIDDEN');
  } finally {
    viewer.close();
  }
  const admin = await TestWs.open(ws, tokens.admin);
  try {
    const ok = await admin.request({ op: 'subscribe', id: 's3', topics: ['security'] });
    assert.equal(ok.ok, true);
  } finally {
    admin.close();
  }
});

test('delivery and sources: operators edit them with secrets kept masked; credentials and decision rules stay with admins', async () => {
  const send = async (method: 'GET' | 'PUT', path: string, role: Role, body?: unknown) => {
    const res = await fetch(`${g.url}/api/v1/config/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[role]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const hook = {
    type: 'webhook',
    url: 'http://127.0.0.1:9/hook',
    secret: 'hmac-key-for-matrix',
    headers: { authorization: 'Bearer downstream' },
  };
  const doc = {
    channels: { hook, screen: { type: 'ws', topic: 'alerts' } },
    formatters: { alert: { type: 'template', template: { model: '{{model}}' } } },
    rules: [{ id: 'r1', model: 'm', channel: 'hook', formatter: 'alert', sample: 1 }],
  };
  assert.equal((await send('PUT', 'delivery', 'admin', doc)).status, 200);

  // The operator reads the document masked, edits a rule and saves it: the secrets stay.
  const seen = (await send('GET', 'delivery', 'operator')).body.doc;
  assert.equal(seen.channels.hook.secret, '***');
  assert.equal(seen.channels.hook.headers, '***');
  const edited = { ...seen, rules: [{ ...seen.rules[0], sample: 0.5 }] };
  const saved = await send('PUT', 'delivery', 'operator', edited);
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  const stored = (await send('GET', 'delivery', 'admin')).body.doc;
  assert.equal(stored.rules[0].sample, 0.5);
  assert.equal(stored.channels.hook.secret, hook.secret);
  assert.deepEqual(stored.channels.hook.headers, hook.headers);

  // A channel that keeps its secret may not be pointed elsewhere, nor given a new one.
  const moved = {
    ...edited,
    channels: { ...seen.channels, hook: { ...seen.channels.hook, url: 'http://127.0.0.1:9/x' } },
  };
  const refused = await send('PUT', 'delivery', 'operator', moved);
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.body.details.paths, ['channels.hook']);
  const added = {
    ...edited,
    channels: { ...seen.channels, other: { ...hook, secret: 'operator-chosen-key' } },
  };
  assert.equal((await send('PUT', 'delivery', 'operator', added)).status, 403);
  // A channel without credentials is the operator's to change.
  const plain = { ...edited, channels: { ...seen.channels, screen: { type: 'ws', topic: 'b' } } };
  assert.equal((await send('PUT', 'delivery', 'operator', plain)).status, 200);
  const after = (await send('GET', 'delivery', 'admin')).body.doc;
  assert.equal(after.channels.hook.secret, hook.secret);

  // Viewers read only; the decision rules are admin-only.
  assert.equal((await send('PUT', 'delivery', 'viewer', plain)).status, 403);
  const rules = await send('PUT', 'rules', 'operator', {});
  assert.equal(rules.status, 403);
  assert.match(rules.body.message, /rules document takes the admin permission/);
  assert.equal((await send('PUT', 'sources', 'operator', { sources: [] })).status, 200);
});
