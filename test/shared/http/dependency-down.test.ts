/**
 * Errors of a dependency that is down are 503 with Retry-After, not 500: the real errors of
 * ioredis and BullMQ against a Redis that is not there, and of fetch against a closed port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { pino } from 'pino';
import { freePort, toErrorReply, toWsError } from '../../../shared/index.js';
import { startTestRedis } from '../../helpers/redis.js';

const log = pino({ enabled: false });
let port: number;
before(async () => {
  port = await freePort(); // nothing listens there
});

/** The error `fn` rejects with. */
async function errorOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

const clients: Redis[] = [];
after(() => {
  for (const c of clients) c.disconnect();
});
function client(opts: RedisOptions) {
  const c = new Redis({ port, host: '127.0.0.1', ...opts });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function assertUnavailable(err: unknown, what: string) {
  const r = toErrorReply(err, log);
  assert.equal(r.status, 503, `${what}: ${String(err)}`);
  assert.equal(r.body.error, 'UNAVAILABLE');
  assert.equal(r.headers['retry-after'], '1');
  assert.match(String(r.body.message), /not reachable|retry/);
  assert.equal(r.body.errorId, undefined, 'not logged as a bug');
  assert.equal(toWsError(err, log).code, 'UNAVAILABLE');
}

test(
  'ioredis giving up on a command (MaxRetriesPerRequestError) is 503 with Retry-After',
  { timeout: 30_000 },
  async () => {
    const err = await errorOf(() =>
      client({ maxRetriesPerRequest: 1, retryStrategy: () => 10 }).get('k'),
    );
    assert.equal((err as Error).name, 'MaxRetriesPerRequestError');
    assertUnavailable(err, 'max retries');
  },
);

test(
  'a fail-fast client (no offline queue) and a closed connection are 503 too',
  { timeout: 30_000 },
  async () => {
    const failFast = client({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    assertUnavailable(await errorOf(() => failFast.get('k')), 'offline queue off');
    const closed = client({ retryStrategy: () => null, maxRetriesPerRequest: 0 });
    assertUnavailable(await errorOf(() => closed.get('k')), 'connection closed');
  },
);

test("a BullMQ producer's add after Redis went down is 503", { timeout: 30_000 }, async () => {
  const r = await startTestRedis();
  const connection = new Redis(r.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  connection.on('error', () => {});
  const queue = new Queue('q', { connection });
  queue.on('error', () => {});
  try {
    await queue.waitUntilReady();
    await r.server.stop();
    assertUnavailable(await errorOf(() => queue.add('j', {})), 'queue add');
  } finally {
    connection.disconnect();
    await queue.close().catch(() => {});
    await r.stop();
  }
});

test('a service that refuses the connection (fetch) is 503; other errors stay 500', async () => {
  assertUnavailable(await errorOf(() => fetch(`http://127.0.0.1:${port}/`)), 'fetch refused');
  const bug = toErrorReply(new TypeError('x is undefined'), log);
  assert.equal(bug.status, 500);
  assert.equal(bug.headers['retry-after'], undefined);
  const notRedis = toErrorReply(new Error('Connection is closed, said a plugin'), log);
  assert.equal(notRedis.status, 500, 'only the exact ioredis message counts');
});
