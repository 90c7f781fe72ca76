import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { Keys } from '../../../shared/store/keys.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import type { RowBatch } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { tabular } from './helpers.js';

const meta = { kind: 'tabular', format: 'csv', features: 4, labelKind: 'regression' } as const;

describe('failed dataset writes leave no trace', () => {
  let r: TestRedis;
  before(async () => {
    r = await startTestRedis();
  });
  after(async () => {
    await r.stop();
  });

  /** A dataset with a committed v1, and a snapshot of its keys to compare against later. */
  async function withV1(opts = {}) {
    const client = r.client();
    const keys = new Keys(r.prefix());
    const store = new DatasetStore(client, keys, opts);
    const w = store.beginVersion('d');
    await w.writeShard(tabular(10, 4));
    const v1 = await w.commit(meta);
    return { client, keys, store, v1 };
  }

  async function assertOnlyV1(client: Redis, keys: Keys, store: DatasetStore, v1: unknown) {
    assert.deepEqual(await client.keys(`${keys.prefix}:dataset:{d}:v2*`), []);
    assert.equal(await client.hget(keys.dataset('d'), 'nextVersion'), '1', 'counter unchanged');
    assert.equal(await client.hget(keys.dataset('d'), 'latest'), '1');
    assert.deepEqual((await store.getDataset('d')).versions, [v1]);
    const back: RowBatch[] = [];
    for await (const b of store.readShards('d', 1)) back.push(b);
    assert.deepEqual(back, [tabular(10, 4)]);
  }

  test('an uploader that throws after 3 shards: no version, staging expires by itself', async () => {
    // 3 s: long enough that no key expires before it is counted, even on a stalled machine.
    const { client, keys, store, v1 } = await withV1({ stagingTtlS: 3 });
    const w = store.beginVersion('d', { uploadId: 'crashed' });
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 5; i++) {
          if (i === 3) throw new Error('parser failed on line 31');
          await w.writeShard(tabular(10, 4, i * 10));
        }
      })(),
      /line 31/,
    );
    await assertOnlyV1(client, keys, store, v1);
    const staging = await client.keys(`${keys.prefix}:dataset:{d}:staging:crashed:*`);
    assert.equal(staging.length, 3);
    for (const k of staging) assert.ok((await client.pttl(k)) > 0);
    await waitFor(async () => (await client.exists(...staging)) === 0, {
      timeoutMs: 15_000,
      what: 'staging keys to expire',
    });
    // The next upload gets v2: a failed upload consumes no number.
    const w2 = store.beginVersion('d');
    await w2.writeShard(tabular(1, 4));
    assert.equal((await w2.commit(meta)).version, 2);
  });

  test("killing the writer's connection mid-upload fails it with no version", async () => {
    const { client, keys, v1 } = await withV1();
    const writerConn = r.client();
    const writer = new DatasetStore(writerConn, keys).beginVersion('d', { uploadId: 'cut' });
    for (let i = 0; i < 3; i++) await writer.writeShard(tabular(10, 4));
    writerConn.disconnect();
    await assert.rejects(
      (async () => {
        await writer.writeShard(tabular(10, 4));
        await writer.commit(meta);
      })(),
    );
    await assertOnlyV1(client, keys, new DatasetStore(client, keys), v1);
  });

  test('abort drops the staged shards at once', async () => {
    const { client, keys, store, v1 } = await withV1();
    const w = store.beginVersion('d', { uploadId: 'aborted' });
    for (let i = 0; i < 3; i++) await w.writeShard(tabular(10, 4));
    await w.abort();
    assert.deepEqual(await client.keys(`${keys.prefix}:dataset:{d}:staging:*`), []);
    await assertOnlyV1(client, keys, store, v1);
  });

  test('a commit whose staged shards expired fails whole', async () => {
    const { client, keys, store, v1 } = await withV1();
    const w = store.beginVersion('d', { uploadId: 'late' });
    await w.writeShard(tabular(10, 4));
    await w.writeShard(tabular(10, 4));
    await client.del(keys.datasetStagingShard('d', 'late', 1)); // as if its TTL had run out
    await assert.rejects(w.commit(meta), /expired/);
    await w.abort();
    await assertOnlyV1(client, keys, store, v1);
  });
});
