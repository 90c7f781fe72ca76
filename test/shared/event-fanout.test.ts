/**
 * The archive fan-out's seam between replay and live events, against a real Redis: what a
 * client that drops repeats by stream id (as the dashboard does) must see to lose nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventFanout,
  compareStreamIds,
  createLogger,
  type StoredEvent,
  type Subscriber,
} from '../../shared/index.js';
import { Keys } from '../../shared/store/keys.js';
import { EventLog } from '../../shared/store/event-log.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let r: TestRedis;
before(async () => (r = await startTestRedis()));
after(() => r.stop());

const recorder = (topics: string[]) => {
  const got: StoredEvent[] = [];
  const s: Subscriber = { topics: new Set(topics), send: (_t, e) => void got.push(e) };
  return { s, got };
};

async function setup() {
  const keys = new Keys(r.prefix());
  const log = new EventLog(r.client(), keys);
  const fanout = new EventFanout(new EventLog(r.client(), keys), createLogger('t', 'silent'));
  fanout.start();
  // The tail starts at the stream's end: wait until it sees a marker, so later appends reach it.
  const probe = recorder(['events']);
  await fanout.subscribe(probe.s);
  await waitFor(async () => {
    await log.append({ kind: 'system', payload: 'probe' });
    return probe.got.length > 0;
  });
  fanout.unsubscribe(probe.s);
  return { log, fanout };
}

test('a live subscriber that subscribes again with `since` gets every event once, in order', async () => {
  const { log, fanout } = await setup();
  try {
    const { s, got } = recorder(['sessions']);
    await fanout.subscribe(s);
    const since = await log.append({ kind: 'session.created', sessionId: 'a', payload: 0 });
    // Enough archive after `since` for a replay of several pages, on both topics.
    for (let i = 0; i < 1200; i++)
      await log.append({ kind: i % 2 ? 'epoch' : 'session.state', sessionId: 'a', payload: i });
    got.length = 0;
    // The page opens a session: a new topic, replayed from `since`, while events keep coming.
    s.topics.add('session:a');
    const subscribing = fanout.subscribe(s, since);
    const live: Promise<string>[] = [];
    for (let i = 0; i < 200; i++)
      live.push(log.append({ kind: 'session.state', sessionId: 'a', payload: 10_000 + i }));
    await subscribing;
    const lastId = (await Promise.all(live)).sort(compareStreamIds).at(-1)!;
    await waitFor(() => got.some((e) => e.id === lastId), {
      what: 'the last live event',
    });
    const ids = got.map((e) => e.id);
    for (let i = 1; i < ids.length; i++)
      assert.ok(
        compareStreamIds(ids[i]!, ids[i - 1]!) > 0,
        `event ${i} (${ids[i]}) came after ${ids[i - 1]}: out of order or repeated`,
      );
    const archived = await log.range({ from: `(${since}`, count: 10_000 });
    assert.deepEqual(
      ids,
      archived.map((e) => e.id),
    );
  } finally {
    await fanout.close();
  }
});

test('a subscriber removed while its replay runs is not added back', async () => {
  const { log, fanout } = await setup();
  try {
    const since = await log.append({ kind: 'epoch', sessionId: 'b', payload: 0 });
    for (let i = 0; i < 600; i++) await log.append({ kind: 'epoch', sessionId: 'b', payload: i });
    const got: StoredEvent[] = [];
    const s: Subscriber = {
      topics: new Set(['session:b']),
      send: (_t, e) => {
        got.push(e);
        // The connection closes while the replay (two pages) is under way.
        if (got.length === 1) fanout.unsubscribe(s);
      },
    };
    await fanout.subscribe(s, since);
    assert.equal(got.length, 1, 'the replay stopped at the close');
    const countAfterReplay = got.length;
    const probe = recorder(['session:b']);
    await fanout.subscribe(probe.s);
    await log.append({ kind: 'epoch', sessionId: 'b', payload: 'after' });
    await waitFor(() => probe.got.length === 1, { what: 'the event after the replay' });
    assert.equal(got.length, countAfterReplay, 'a removed subscriber still received live events');
  } finally {
    await fanout.close();
  }
});
