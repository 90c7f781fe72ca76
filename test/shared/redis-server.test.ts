import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRedis } from '../helpers/redis.js';

test('a real redis-server starts with AOF on and stops cleanly', async () => {
  const r = await startTestRedis();
  try {
    const c = r.client();
    assert.equal(await c.ping(), 'PONG');
    const cfg = await c.config('GET', 'appendonly');
    assert.deepEqual(cfg, ['appendonly', 'yes']);
  } finally {
    await r.stop();
  }
});
