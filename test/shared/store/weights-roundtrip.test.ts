import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

let r: TestRedis;
before(async () => {
  r = await startTestRedis();
});
after(async () => {
  await r.stop();
});

test('a 64 MB weights blob round-trips bit-exact in 4 MiB chunks', async () => {
  const client = r.client();
  const keys = new Keys(r.prefix());
  const reg = new ModelRegistry(client, keys);
  const weights = randomBytes(64 * 1024 * 1024);
  const sha = createHash('sha256').update(weights).digest('hex');
  const g = await reg.addGeneration('big', { type: 'classifier', weights });
  assert.equal(g.sha256, sha);
  assert.equal(g.size, weights.length);
  assert.equal(await client.exists(keys.modelGenBlob('big', 1, 15)), 1);
  assert.equal(await client.exists(keys.modelGenBlob('big', 1, 16)), 0);
  const back = await reg.getWeights('big', 1);
  assert.equal(createHash('sha256').update(back).digest('hex'), sha);
  assert.ok(back.equals(weights));
  await reg.deleteModel('big');
  assert.equal(await client.exists(keys.modelGenBlob('big', 1, 0)), 0);
});

test('an upload that dies before commit shows no generation and its chunks expire', async () => {
  const writer = r.client();
  const keys = new Keys(r.prefix());
  const reg = new ModelRegistry(r.client(), keys, { chunkSize: 1024, pendingTtlS: 60 });
  await reg.addGeneration('crash', { type: 'c', weights: Buffer.alloc(10) });
  const dying = new ModelRegistry(writer, keys, { chunkSize: 1024, pendingTtlS: 60 });
  const upload = dying.addGeneration('crash', { weights: randomBytes(512 * 1024) });
  // Cut the uploader's connection mid-stream, like a crashed trainer.
  setImmediate(() => writer.disconnect());
  await assert.rejects(upload);
  assert.deepEqual(
    (await reg.listGenerations('crash')).map((g) => g.gen),
    [1],
  );
  const stray = await r.client().keys(`${keys.prefix}:model:{crash}:gen:2:*`);
  for (const k of stray) assert.ok((await r.client().ttl(k)) > 0, `${k} has a TTL`);
  const g3 = await reg.addGeneration('crash', { weights: Buffer.from('ok') });
  assert.equal(g3.gen >= 2, true, 'numbering goes on after the failed upload');
});
