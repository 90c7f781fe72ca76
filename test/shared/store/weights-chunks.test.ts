// Large weights read back in many chunks: the sha256 and the layout catch every damage, and
// reads with a password, a database or a key prefix behave like the client does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let r: TestRedis;
before(async () => {
  r = await startTestRedis();
});
after(async () => {
  await r.stop();
});

test('a large blob with a short last chunk round-trips bit-exact', async () => {
  const reg = new ModelRegistry(r.client(), new Keys(r.prefix()), { chunkSize: MiB });
  const weights = randomBytes(40 * MiB + 12345);
  const g = await reg.addGeneration('big', { type: 'c', weights });
  assert.equal(g.sha256, sha(weights));
  assert.equal(g.size, weights.length);
  const back = await reg.getWeights('big', 1);
  assert.ok(back.equals(weights));
});

test('concurrent large reads keep their hashes apart', async () => {
  const reg = new ModelRegistry(r.client(), new Keys(r.prefix()), { chunkSize: MiB });
  const blobs = [0, 1, 2, 3].map(() => randomBytes(4 * MiB + 3 * MiB));
  const gens = await Promise.all(
    blobs.map((w, i) => reg.addGeneration(`m${i}`, { type: 'c', weights: w })),
  );
  gens.forEach((g, i) => assert.equal(g.sha256, sha(blobs[i]!)));
  const back = await Promise.all(blobs.map((_, i) => reg.getWeights(`m${i}`, 1)));
  back.forEach((b, i) => assert.ok(b.equals(blobs[i]!)));
});

test('a corrupt, missing or short chunk of a large blob is still refused', async () => {
  const client = r.client();
  const keys = new Keys(r.prefix());
  const reg = new ModelRegistry(client, keys, { chunkSize: MiB });
  const weights = randomBytes(4 * MiB * 2);
  await reg.addGeneration('w', { type: 'c', weights });
  const chunk = keys.modelGenBlob('w', 1, 5);
  const good = await client.getBuffer(chunk);
  assert.ok(good);

  const flipped = Buffer.from(good);
  flipped[777] = flipped[777]! ^ 1;
  await client.set(chunk, flipped);
  await assert.rejects(reg.getWeights('w', 1), /corrupt: sha256 [0-9a-f]{64} != stored/);

  await client.del(chunk);
  await assert.rejects(reg.getWeights('w', 1), /corrupt: chunk 5 of 8 is missing/);

  await client.set(chunk, good.subarray(1));
  await assert.rejects(
    reg.getWeights('w', 1),
    /corrupt: chunk 5 of 8 has 1048575 bytes, expected 1048576/,
  );

  // Put back, it reads again.
  await client.set(chunk, good);
  assert.ok((await reg.getWeights('w', 1)).equals(weights));
});

test('a chunk of the wrong type is an error, not a hang', async () => {
  const client = r.client();
  const keys = new Keys(r.prefix());
  const reg = new ModelRegistry(client, keys, { chunkSize: MiB });
  await reg.addGeneration('t', { type: 'c', weights: randomBytes(4 * MiB) });
  await client.del(keys.modelGenBlob('t', 1, 2));
  await client.rpush(keys.modelGenBlob('t', 1, 2), 'x');
  await assert.rejects(
    reg.getWeights('t', 1),
    /reading chunk 2 of 4 of t\/1: redis replied "-WRONGTYPE/,
  );
});

test('large reads authenticate and use the client database like the client does', async () => {
  const admin = r.client();
  await admin.config('SET', 'requirepass', 'sekret');
  try {
    const url = new URL(r.url);
    url.password = 'sekret';
    url.pathname = '/3';
    const client = new Redis(url.toString());
    client.on('error', () => {});
    try {
      const keys = new Keys(r.prefix());
      const reg = new ModelRegistry(client, keys, { chunkSize: MiB });
      const weights = randomBytes(4 * MiB + 5);
      await reg.addGeneration('a', { type: 'c', weights });
      assert.ok((await reg.getWeights('a', 1)).equals(weights));
      assert.equal(await admin.exists(keys.modelGenBlob('a', 1, 0)), 0, 'not in db 0');
    } finally {
      client.disconnect();
    }
  } finally {
    await admin.config('SET', 'requirepass', '');
  }
});

test('a client with a key prefix reads through ioredis and still verifies', async () => {
  const client = new Redis(r.url, { keyPrefix: 'kp:' });
  client.on('error', () => {});
  try {
    const keys = new Keys(r.prefix());
    const reg = new ModelRegistry(client, keys, { chunkSize: MiB });
    const weights = randomBytes(4 * MiB * 2 + 1);
    await reg.addGeneration('p', { type: 'c', weights });
    assert.ok((await reg.getWeights('p', 1)).equals(weights));
    await client.setrange(keys.modelGenBlob('p', 1, 6), 10, 'X');
    await assert.rejects(reg.getWeights('p', 1), /corrupt: sha256/);
  } finally {
    client.disconnect();
  }
});
