import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';

describe('gateway basics', () => {
  let r: TestRedis;
  let g: TestGateway;
  before(async () => {
    r = await startTestRedis();
    g = await startTestGateway(r);
  });
  after(async () => {
    await g.close();
    await r.stop();
  });

  test('health routes need no token', async () => {
    await request(g.url).get('/healthz').expect(200, { status: 'ok' });
    // No event handler runs beside this gateway: not ready, and the answer names each check.
    const ready = await request(g.url).get('/readyz').expect(503);
    assert.equal(ready.body.checks.redis, 'ok');
    assert.notEqual(ready.body.checks['event-handler'], 'ok');
  });

  test('unknown routes get a JSON 404', async () => {
    const res = await request(g.url)
      .get('/api/v1/nope')
      .set('authorization', `Bearer ${g.adminToken}`)
      .expect(404);
    assert.equal(res.body.error, 'NOT_FOUND');
    assert.match(res.body.message, /GET \/api\/v1\/nope/);
  });

  test('api routes need a token: 401 without, 401 with a wrong one', async () => {
    const none = await request(g.url).get('/api/v1/tokens').expect(401);
    assert.equal(none.body.error, 'UNAUTHORIZED');
    await request(g.url)
      .get('/api/v1/tokens')
      .set('authorization', 'Bearer wrong-token')
      .expect(401);
  });

  test('tokens: created with a role, hashed at rest, role enforced, revocable', async () => {
    const created = await request(g.url)
      .post('/api/v1/tokens')
      .set('authorization', `Bearer ${g.adminToken}`)
      .send({ name: 'ci viewer', role: 'viewer' })
      .expect(201);
    const viewer = created.body.token as string;
    const stored = await r.client().hgetall(`${g.prefix}:tokens`);
    assert.ok(!JSON.stringify(stored).includes(viewer), 'the secret is not stored');
    const forbidden = await request(g.url)
      .get('/api/v1/tokens')
      .set('authorization', `Bearer ${viewer}`)
      .expect(403);
    assert.equal(forbidden.body.error, 'FORBIDDEN');
    await request(g.url)
      .delete(`/api/v1/tokens/${created.body.id}`)
      .set('authorization', `Bearer ${g.adminToken}`)
      .expect(204);
  });

  test('bad JSON body gets a 400 with a message, malformed token body a 400 with paths', async () => {
    const bad = await request(g.url)
      .post('/api/v1/tokens')
      .set('authorization', `Bearer ${g.adminToken}`)
      .set('content-type', 'application/json')
      .send('{"name": ')
      .expect(400);
    assert.equal(bad.body.error, 'BAD_INPUT');
    const wrong = await request(g.url)
      .post('/api/v1/tokens')
      .set('authorization', `Bearer ${g.adminToken}`)
      .send({ name: 'x', role: 'superuser' })
      .expect(400);
    assert.equal(wrong.body.issues[0].path, 'role');
  });

  test('rate limits answer 429 with Retry-After', async () => {
    const created = await request(g.url)
      .post('/api/v1/tokens')
      .set('authorization', `Bearer ${g.adminToken}`)
      .send({ name: 'slow', role: 'admin', rateLimit: 1 })
      .expect(201);
    const auth = `Bearer ${created.body.token}`;
    await request(g.url).get('/api/v1/tokens').set('authorization', auth).expect(200);
    const limited = await request(g.url)
      .get('/api/v1/tokens')
      .set('authorization', auth)
      .expect(429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });

  test('inference routes without a serving replica: 401 first, then 502/503 in the protocol shape', async () => {
    await request(g.url).post('/v2/models/m/infer').send({}).expect(401);
    const res = await request(g.url)
      .get('/v2/models/m')
      .set('authorization', `Bearer ${g.adminToken}`);
    assert.ok(res.status >= 500 && res.status < 600);
    assert.equal(typeof res.body.error, 'string');
  });
});
