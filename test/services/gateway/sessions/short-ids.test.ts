/**
 * `swarmml sessions` lists ids cut to 8 characters: any unique prefix of 6 or more works
 * wherever a session id is taken (the REST routes and the CLI), an ambiguous one is a 409
 * naming the matches, and one under 6 characters a 400 saying so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, Keys, SessionStore } from '../../../../shared/index.js';
import { runCli } from '../../../helpers/cli.js';
import { api, startTestPlatform, type TestPlatform } from '../../../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { TestWs } from '../../../helpers/ws-client.js';

let r: TestRedis;
let p: TestPlatform;
// Two sessions share their first 8 characters (the CLI's column), a third stands apart.
const TWIN_A = 'c0ffee12-aaaa-4000-8000-000000000001';
const TWIN_B = 'c0ffee12-bbbb-4000-8000-000000000002';
const LONE = '5eed0042-cccc-4000-8000-000000000003';

before(async () => {
  r = await startTestRedis();
  p = await startTestPlatform(r, { listener: false });
  const keys = new Keys(p.prefix);
  const sessions = new SessionStore(r.client(), keys);
  const events = new EventLog(r.client(), keys);
  for (const id of [TWIN_A, TWIN_B, LONE]) {
    await sessions.create({ id, kind: 'train', request: { model: 'm', dataset: 'd@1' } });
    await events.append({ sessionId: id, kind: 'log', payload: { line: `hello from ${id}` } });
  }
});
after(async () => {
  await p?.close();
  await r?.stop();
});

const swarmml = (...args: string[]) => runCli(p.url, p.token, ...args);

test('GET /api/v1/sessions/{prefix}: a unique prefix answers the session with its events', async () => {
  for (const prefix of [LONE.slice(0, 6), LONE.slice(0, 8), LONE]) {
    const res = await api(p, 'GET', `/api/v1/sessions/${prefix}`);
    assert.equal(res.status, 200, `${prefix}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.id, LONE);
    assert.equal(res.body.events.length, 1);
    assert.equal(res.body.events[0].sessionId, LONE);
  }
  // One more character tells the twins apart.
  const a = await api(p, 'GET', `/api/v1/sessions/${TWIN_A.slice(0, 10)}`);
  assert.equal(a.body.id, TWIN_A);
});

test('an ambiguous prefix is a 409 listing the matches; a short one a 400; none a 404', async () => {
  const twins = await api(p, 'GET', `/api/v1/sessions/${TWIN_A.slice(0, 8)}`);
  assert.equal(twins.status, 409, JSON.stringify(twins.body));
  assert.equal(twins.body.error, 'CONFLICT');
  assert.deepEqual(twins.body.details.matches, [TWIN_A, TWIN_B]);
  assert.match(twins.body.message, /ambiguous/);
  assert.ok(twins.body.message.includes(TWIN_A) && twins.body.message.includes(TWIN_B));

  const short = await api(p, 'GET', `/api/v1/sessions/${LONE.slice(0, 5)}`);
  assert.equal(short.status, 400, JSON.stringify(short.body));
  assert.match(short.body.message, /at least 6 characters/);

  assert.equal((await api(p, 'GET', '/api/v1/sessions/0123456789')).status, 404);
  // Glob characters are no pattern that matches every session: not an id at all.
  const glob = await api(p, 'GET', `/api/v1/sessions/${encodeURIComponent('c0ffee*')}`);
  assert.equal(glob.status, 400, JSON.stringify(glob.body));
  // Stopping takes a prefix too, and an ambiguous one stops nothing.
  assert.equal((await api(p, 'POST', `/api/v1/sessions/${TWIN_A.slice(0, 8)}/stop`)).status, 409);
  const twin = await api(p, 'GET', `/api/v1/sessions/${TWIN_B}`);
  assert.equal(twin.body.state, 'queued');
});

test('the CLI: session, events --session and stop take the 8 characters `sessions` shows', async () => {
  const list = await swarmml('sessions');
  assert.equal(list.code, 0, list.stderr);
  const shown = LONE.slice(0, 8);
  assert.match(list.stdout, new RegExp(`^${shown}\\s`, 'm'));

  const one = await swarmml('session', shown);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, new RegExp(`^session ${LONE}\\s+train\\s+queued`, 'm'));

  const events = await swarmml('events', '--session', shown);
  assert.equal(events.code, 0, events.stderr);
  assert.match(events.stdout, new RegExp(`hello from ${LONE}`));
  assert.doesNotMatch(events.stdout, /hello from c0ffee12/);

  const ambiguous = await swarmml('events', '--session', TWIN_A.slice(0, 8));
  assert.equal(ambiguous.code, 2, 'an ambiguous prefix fails instead of printing nothing');
  assert.match(ambiguous.stderr, /409 CONFLICT: .*ambiguous.*c0ffee12-aaaa.*c0ffee12-bbbb/);

  const stopped = await swarmml('stop', shown);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, new RegExp(`session ${LONE}: stopped`));
});

test('the WebSocket: session:<prefix> subscribes to the session; an ambiguous prefix is refused', async () => {
  const ws = await TestWs.open(`${p.url.replace('http', 'ws')}/api/v1/ws`, p.token);
  try {
    const sub = await ws.request({
      op: 'subscribe',
      id: 's1',
      topics: [`session:${LONE.slice(0, 8)}`],
      since: '0-0',
    });
    assert.equal(sub.ok, true, JSON.stringify(sub));
    assert.deepEqual(sub.result.topics, [`session:${LONE}`]);
    const ev = await ws.next((m) => m.op === 'event' && m.event.kind === 'log');
    assert.equal(ev.event.sessionId, LONE);

    const twins = await ws.request({
      op: 'subscribe',
      id: 's2',
      topics: [`session:${TWIN_A.slice(0, 8)}`],
    });
    assert.equal(twins.ok, false);
    assert.equal(twins.error.code, 'CONFLICT');
  } finally {
    ws.close();
  }
});
