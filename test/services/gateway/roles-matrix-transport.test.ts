/**
 * Role × route × transport: every declared HTTP route and every WebSocket operation, for
 * each role and for revoked and expired tokens of each role. roles-matrix.test.ts checks
 * who is let through; this one checks how the rest are refused: 403 names the role needed,
 * revoked, expired and URL-borne tokens get 401 everywhere, over HTTP and the WebSocket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Role, roleAllows, type Permission } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TestWs } from '../../helpers/ws-client.js';
import { API_ROUTES } from '../../../services/gateway/openapi/api-routes.js';
import type { RouteSpec } from '../../../services/gateway/openapi/route-spec.js';

const ROLES = Role.options;
/** The role a 403 must name: the smallest that has the permission (not the permission). */
const NEEDS: Record<Permission, Role> = {
  read: 'viewer',
  predict: 'client',
  write: 'operator',
  admin: 'admin',
};

let r: TestRedis;
let g: TestGateway;
let wsUrl: string;
const valid = {} as Record<Role, string>;
const revoked = {} as Record<Role, string>;
const expired = {} as Record<Role, string>;

async function createToken(name: string, role: Role): Promise<{ token: string; id: string }> {
  const res = await fetch(`${g.url}/api/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, role }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { token: string; id: string };
}

async function revoke(id: string): Promise<void> {
  const res = await fetch(`${g.url}/api/v1/tokens/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${g.adminToken}` },
  });
  assert.equal(res.status, 204);
}

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
  wsUrl = g.url.replace('http', 'ws') + '/api/v1/ws';
  for (const role of ROLES) {
    valid[role] = (await createToken(`valid-${role}`, role)).token;
    const gone = await createToken(`revoked-${role}`, role);
    await revoke(gone.id);
    revoked[role] = gone.token;
    // Already past its expiry: the API takes only future ones, the store any.
    const past = new Date(Date.now() - 1000);
    expired[role] = (await g.gw.ctx.tokens.create(`expired-${role}`, role, 0, past)).token;
  }
});
after(async () => {
  await g.close();
  await r.stop();
});

// Parameters that name nothing, except `kind`, which must be a real configuration kind.
const PARAMS: Record<string, string> = { kind: 'delivery', v: '1', gen: '1' };

function concrete(route: RouteSpec): string {
  return route.path.replace(/\/:(\w+)/g, (_m, p: string) => `/${PARAMS[p] ?? 'matrix-none'}`);
}

async function call(
  route: RouteSpec,
  auth: { header?: string; query?: string },
): Promise<{ status: number; body: any }> {
  const hasBody = route.method !== 'get' && route.method !== 'delete';
  const query = auth.query === undefined ? '' : `?token=${encodeURIComponent(auth.query)}`;
  const res = await fetch(g.url + concrete(route) + query, {
    method: route.method.toUpperCase(),
    headers: {
      ...(auth.header ? { authorization: `Bearer ${auth.header}` } : {}),
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
    },
    ...(hasBody ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const ROUTES = API_ROUTES.filter((route) => route.permission !== 'public');

test('HTTP, every route: revoked, expired and ?token= get 401; a role too small gets 403 naming the role', async () => {
  const wrong: string[] = [];
  for (const route of ROUTES) {
    const name = `${route.method.toUpperCase()} ${route.path}`;
    const permission = route.permission as Permission;
    for (const role of ROLES) {
      const gone = await call(route, { header: revoked[role] });
      if (gone.status !== 401) wrong.push(`${name} revoked ${role}: ${gone.status}`);
      const late = await call(route, { header: expired[role] });
      if (late.status !== 401) wrong.push(`${name} expired ${role}: ${late.status}`);
      else if (!JSON.stringify(late.body).includes('expired'))
        wrong.push(`${name} expired ${role}: the 401 does not say expired`);
      if (roleAllows(role, permission)) continue;
      const small = await call(route, { header: valid[role] });
      if (small.status !== 403) {
        wrong.push(`${name} as ${role}: ${small.status}, want 403`);
      } else if (small.body?.details?.needs !== NEEDS[permission]) {
        wrong.push(
          `${name} as ${role}: needs ${JSON.stringify(small.body?.details?.needs)}, want ${NEEDS[permission]}`,
        );
      }
    }
    // A token in the URL is refused on every REST route, even the bootstrap admin's.
    const inUrl = await call(route, { query: g.adminToken });
    if (inUrl.status !== 401) wrong.push(`${name} ?token=admin: ${inUrl.status}`);
    else if (!JSON.stringify(inUrl.body).includes('Authorization'))
      wrong.push(`${name} ?token=: the 401 does not name the Authorization header`);
  }
  assert.deepEqual(wrong, []);
});

/** Each WebSocket operation, shaped validly so that only the role decides. */
const WS_OPS: { op: Record<string, unknown>; permission: Permission }[] = [
  { op: { op: 'ping' }, permission: 'read' },
  { op: { op: 'subscribe', topics: ['sessions'] }, permission: 'read' },
  { op: { op: 'subscribe', topics: ['security'] }, permission: 'admin' },
  { op: { op: 'unsubscribe', topics: ['sessions'] }, permission: 'read' },
  {
    op: { op: 'create', session: { model: 'matrix', dataset: 'matrix-none' } },
    permission: 'write',
  },
  { op: { op: 'stop', sessionId: 'matrix-none' }, permission: 'write' },
  { op: { op: 'predict', model: 'matrix', request: { inputs: [] } }, permission: 'predict' },
];

test('WebSocket, every operation × role: allowed at and above its role, else FORBIDDEN naming the role', async () => {
  const wrong: string[] = [];
  for (const role of ROLES) {
    const ws = await TestWs.open(wsUrl, valid[role]);
    try {
      for (const [i, { op, permission }] of WS_OPS.entries()) {
        const name = `${String(op.op)}#${i} as ${role}`;
        const reply = await ws.request({ ...op, id: `op${i}` });
        const code = reply.ok ? 'ok' : (reply.error.code as string);
        if (roleAllows(role, permission)) {
          if (code === 'FORBIDDEN' || code === 'UNAUTHORIZED') wrong.push(`${name}: ${code}`);
        } else if (code !== 'FORBIDDEN') {
          wrong.push(`${name}: ${code}, want FORBIDDEN`);
        } else if (reply.error.details?.needs !== NEEDS[permission]) {
          wrong.push(`${name}: needs ${JSON.stringify(reply.error.details?.needs)}`);
        }
      }
    } finally {
      ws.close();
    }
  }
  assert.deepEqual(wrong, []);
});

test('WebSocket, revoked and expired tokens of every role: no socket opens, by header or ?token=', async () => {
  const wrong: string[] = [];
  for (const role of ROLES) {
    for (const [what, token] of [
      ['revoked', revoked[role]],
      ['expired', expired[role]],
    ] as const) {
      for (const how of ['header', 'query'] as const) {
        const opened =
          how === 'header'
            ? TestWs.open(wsUrl, token)
            : TestWs.open(`${wsUrl}?token=${encodeURIComponent(token)}`);
        await opened.then(
          (ws) => {
            wrong.push(`${what} ${role} by ${how}: opened`);
            ws.close();
          },
          (err: Error) => {
            if (!/HTTP 401/.test(err.message)) wrong.push(`${what} ${role} by ${how}: ${err}`);
          },
        );
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('WebSocket, open sockets of every role: revoked, each closes with 4401 and no operation is answered', async () => {
  const sockets = await Promise.all(
    ROLES.map(async (role) => {
      const t = await createToken(`doomed-${role}`, role);
      const ws = await TestWs.open(wsUrl, t.token);
      assert.equal((await ws.request({ op: 'ping', id: 'before' })).ok, true);
      return { role, id: t.id, ws };
    }),
  );
  for (const s of sockets) await revoke(s.id);
  // Sent once the revocation was answered: the gateway has refused these sockets already.
  for (const s of sockets) {
    for (const [i, { op }] of WS_OPS.entries()) {
      if (s.ws.ws.readyState === s.ws.ws.OPEN) s.ws.send({ ...op, id: `after${i}` });
    }
  }
  const wrong: string[] = [];
  for (const s of sockets) {
    const closed = await s.ws.closed;
    if (closed.code !== 4401) wrong.push(`${s.role}: closed with ${closed.code}`);
    const answered = s.ws.messages.filter(
      (m) => m.op === 'reply' && String(m.id).startsWith('after'),
    );
    if (answered.length) wrong.push(`${s.role}: answered after revocation ${answered.length}`);
  }
  assert.deepEqual(wrong, []);
});
