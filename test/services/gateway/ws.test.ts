import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareStreamIds } from '../../../shared/index.js';
import { api, type TestPlatform } from '../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../helpers/digits-platform.js';
import { waitFor } from '../../helpers/wait.js';
import { TestWs } from '../../helpers/ws-client.js';

describe('the client WebSocket /api/v1/ws', () => {
  let d: DigitsPlatform;
  let p: TestPlatform;
  let wsUrl: string;
  before(async () => {
    d = await startDigitsPlatform();
    p = d.p;
    wsUrl = p.url.replace('http', 'ws') + '/api/v1/ws';
  });
  after(async () => {
    await d?.close();
  });

  test('refuses a connection without a valid token', async () => {
    await assert.rejects(TestWs.open(wsUrl), /401/);
    await assert.rejects(TestWs.open(wsUrl, 'nope'), /401/);
  });

  test('create a session over WS, get a correlated reply, then its events live; resume with since', async () => {
    const ws = await TestWs.open(wsUrl, p.token);
    const bad = await ws.request({
      op: 'create',
      id: 'c0',
      session: { model: 'm', dataset: 'digits', params: { epochs: -1 } },
    });
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'BAD_INPUT');
    const created = await ws.request({
      op: 'create',
      id: 'c1',
      session: { model: 'ws-model', dataset: 'digits', params: { hidden: [32], epochs: 4 } },
    });
    assert.equal(created.ok, true, JSON.stringify(created));
    const id = created.result.id as string;
    const sub = await ws.request({
      op: 'subscribe',
      id: 's1',
      topics: [`session:${id}`],
      since: '0-0',
    });
    assert.equal(sub.ok, true);
    const fin = await ws.next(
      (m) => m.op === 'event' && m.event.kind === 'session.finished',
      60_000,
    );
    assert.equal(fin.event.payload.state, 'succeeded');
    const seen = ws.messages.filter((m) => m.op === 'event').map((m) => m.event.id as string);
    assert.equal(new Set(seen).size, seen.length, 'no event twice');
    const epochs = ws.messages.filter((m) => m.op === 'event' && m.event.kind === 'epoch');
    assert.equal(epochs.length, 4);
    ws.close();

    // A reconnecting client resumes after the last id it saw and gets only the rest.
    const ws2 = await TestWs.open(wsUrl, p.token);
    const third = epochs[2].event.id as string;
    await ws2.request({ op: 'subscribe', id: 's2', topics: [`session:${id}`], since: third });
    await ws2.next((m) => m.op === 'event' && m.event.kind === 'session.finished');
    const replayed = () => ws2.messages.filter((m) => m.op === 'event');
    assert.equal(
      replayed().filter((m) => m.event.kind === 'epoch').length,
      1,
      'only epoch 4 is after epoch 3',
    );
    // Every archived event after the third epoch arrives once: the listener's decisions may
    // still be landing after session.finished, so compare once both sides agree or time out.
    const afterThird = async () =>
      (await api(p, 'GET', `/api/v1/sessions/${id}`)).body.events
        .filter((e: { id: string }) => compareStreamIds(e.id, third) > 0)
        .map((e: { id: string }) => e.id);
    const ids = () => replayed().map((m) => m.event.id as string);
    await waitFor(async () => (await afterThird()).join() === ids().join(), {
      timeoutMs: 10_000,
      what: 'the replay to match the archive after epoch 3',
    }).catch(async (err) => {
      assert.deepEqual(ids(), await afterThird(), String(err));
    });
    ws2.close();
  });
});
