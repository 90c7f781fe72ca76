/**
 * A pub/sub connection keeps its channels across a Redis restart, and a resubscription cut
 * short by closing the connection is an error handed to the caller, not an unhandled
 * rejection (ioredis's own autoResubscribe leaves that one unhandled, which ends a process).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeptSubscriptions } from '../../../shared/store/kept-subscriptions.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

let r: TestRedis;
before(async () => {
  r = await startTestRedis();
});
after(async () => {
  await r?.stop();
});

test('subscribed again after Redis restarts: messages published after it arrive', async () => {
  const sub = r.client();
  const errors: unknown[] = [];
  const kept = new KeptSubscriptions(sub, (err) => errors.push(err));
  const got: string[] = [];
  sub.on('message', (_ch: string, m: string) => got.push(m));
  await kept.add('a', 'b');
  const pub = r.client();
  await pub.publish('a', 'before');
  await waitFor(() => got.includes('before'), { what: 'the first message' });
  await r.server.kill9();
  await r.server.start();
  // Published until one arrives: the subscriber reconnects on its own schedule.
  await waitFor(
    async () => {
      await pub.publish('b', 'after').catch(() => 0);
      return got.includes('after');
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'a message after the restart' },
  );
  assert.deepEqual(errors, []);
});

test('a resubscription cut short by closing the connection goes to onError, not unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    const sub = r.client();
    const id = String(await sub.client('ID'));
    const errors: unknown[] = [];
    const kept = new KeptSubscriptions(sub, (err) => errors.push(err));
    await kept.add('c');
    // Once it is ready again after a dropped connection, KeptSubscriptions's listener
    // (registered first) has sent SUBSCRIBE; the client is then closed and its socket gone
    // before the answer is read, as in a shutdown just after Redis came back. (ioredis's own
    // autoResubscribe, in these steps, leaves `Connection is closed.` unhandled.)
    let cut = false;
    sub.once('ready', () => {
      sub.disconnect();
      sub.stream.destroy();
      cut = true;
    });
    await r.client().client('KILL', 'ID', id);
    await waitFor(() => cut, { what: 'the reconnect' });
    await waitFor(() => errors.length > 0, { what: 'the resubscribe error' });
    assert.match(String(errors[0]), /Connection is closed/);
    // An unhandled rejection would be reported after a turn of the event loop.
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
