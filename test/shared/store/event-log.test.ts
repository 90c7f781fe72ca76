import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Keys } from '../../../shared/store/keys.js';
import { EventLog, type StoredEvent } from '../../../shared/store/event-log.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

describe('event log', () => {
  let r: TestRedis;
  before(async () => {
    r = await startTestRedis();
  });
  after(async () => {
    await r.stop();
  });

  test('append and range, filtered by session', async () => {
    const log = new EventLog(r.client(), new Keys(r.prefix()), { batch: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(
        await log.append({ kind: 'epoch', sessionId: i % 2 ? 'odd' : 'even', payload: { i } }),
      );
    }
    await log.append({ kind: 'system', payload: null });
    const all = await log.range({ count: 100 });
    assert.equal(all.length, 11);
    assert.deepEqual(all[0], {
      id: ids[0],
      kind: 'epoch',
      sessionId: 'even',
      payload: { i: 0 },
      time: all[0]!.time,
    });
    assert.equal(all[10]!.sessionId, undefined);
    const odd = await log.range({ sessionId: 'odd', count: 4 });
    assert.deepEqual(
      odd.map((e) => (e.payload as { i: number }).i),
      [1, 3, 5, 7],
    );
    const after3 = await log.range({ from: `(${ids[3]}`, count: 2 });
    assert.deepEqual(
      after3.map((e) => e.id),
      [ids[4], ids[5]],
    );
  });

  test('tail resumes from an id with nothing missed or repeated', async () => {
    const client = r.client();
    const keys = new Keys(r.prefix());
    const log = new EventLog(client, keys, { blockMs: 200, batch: 7 });
    const got: StoredEvent[] = [];
    const consume = async (from: string, signal: AbortSignal) => {
      for await (const e of log.tail(from, signal)) got.push(e);
    };

    for (let i = 0; i < 5; i++) await log.append({ kind: 'k', payload: i });
    const first = new AbortController();
    const c1 = consume('0-0', first.signal);
    await waitFor(() => got.length === 5, { what: 'first 5 events' });
    first.abort();
    await c1;
    const lastSeen = got[got.length - 1]!.id;
    // Written while no consumer is attached.
    for (let i = 5; i < 30; i++) await log.append({ kind: 'k', payload: i });
    const second = new AbortController();
    const c2 = consume(lastSeen, second.signal);
    for (let i = 30; i < 40; i++) await log.append({ kind: 'k', payload: i });
    await waitFor(() => got.length >= 40, { what: 'all 40 events' });
    second.abort();
    await c2;
    assert.deepEqual(
      got.map((e) => e.payload),
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal(new Set(got.map((e) => e.id)).size, 40);
  });

  test("tail from '$' sees only new events; abort ends it promptly", async () => {
    const log = new EventLog(r.client(), new Keys(r.prefix()), { blockMs: 60_000 });
    await log.append({ kind: 'old', payload: 1 });
    const ac = new AbortController();
    const got: StoredEvent[] = [];
    const done = (async () => {
      for await (const e of log.tail('$', ac.signal)) got.push(e);
    })();
    await waitFor(
      async () => {
        await log.append({ kind: 'new', payload: 2 });
        return got.length > 0;
      },
      { intervalMs: 50, what: 'a new event' },
    );
    const t0 = Date.now();
    ac.abort();
    await done;
    assert.ok(Date.now() - t0 < 1000, 'abort interrupts a blocking XREAD');
    assert.ok(got.every((e) => e.kind === 'new'));
  });

  test('trim only by explicit policy', async () => {
    const log = new EventLog(r.client(), new Keys(r.prefix()));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await log.append({ kind: 'k', payload: i }));
    assert.equal(await log.length(), 20);
    assert.equal(await log.trim({ maxLen: 15 }), 5);
    assert.equal(await log.trim({ minId: ids[10]! }), 5);
    assert.deepEqual(
      (await log.range({})).map((e) => e.id),
      ids.slice(10),
    );
  });
});
