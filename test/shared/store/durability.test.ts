import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '../../../shared/runtime/redis-server.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { EventLog } from '../../../shared/store/event-log.js';
import { SessionStore } from '../../../shared/store/session-store.js';
import { startTestRedis } from '../../helpers/redis.js';

test('acknowledged registry entries, sessions and events survive kill -9 (appendfsync always)', async () => {
  const r = await startTestRedis({ appendfsync: 'always' });
  const keys = new Keys(r.prefix());
  const client = new Redis(r.url, { retryStrategy: () => null });
  client.on('error', () => {});
  const N = 100;
  const reg = new ModelRegistry(client, keys);
  const events = new EventLog(client, keys);
  const sessions = new SessionStore(client, keys);
  const eventIds: string[] = [];
  for (let i = 0; i < N; i++) {
    await reg.addGeneration('durable', {
      type: 'classifier',
      weights: Buffer.alloc(64, i),
      metrics: { i },
    });
    eventIds.push(await events.append({ kind: 'epoch', sessionId: 's', payload: { i } }));
  }
  const s = await sessions.create({ kind: 'train', request: { n: N } });
  await sessions.transition(s.id, 'placing');
  await reg.promote('durable', N);
  await r.server.kill9();
  client.disconnect();

  const again = new RedisServer({ dir: r.dir, port: r.server.opts.port, appendfsync: 'always' });
  await again.start();
  const c2 = new Redis(again.url);
  c2.on('error', () => {});
  try {
    const reg2 = new ModelRegistry(c2, keys);
    const gens = await reg2.listGenerations('durable');
    assert.equal(gens.length, N);
    assert.deepEqual(
      gens.map((g) => g.metrics.i),
      Array.from({ length: N }, (_, i) => i),
    );
    assert.equal((await reg2.getProduction('durable'))?.gen, N);
    assert.deepEqual(await reg2.getWeights('durable', 7), Buffer.alloc(64, 6));
    const back = await new EventLog(c2, keys).range({ count: 1000 });
    assert.deepEqual(
      back.map((e) => e.id),
      eventIds,
    );
    assert.equal((await new SessionStore(c2, keys).get(s.id)).state, 'placing');
  } finally {
    c2.disconnect();
    await again.stop();
    await r.stop();
  }
});
