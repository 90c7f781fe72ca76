import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Conflict, NotFound } from '../../../shared/errors.js';
import type { RowBatch } from '../../../shared/index.js';
import { Keys } from '../../../shared/store/keys.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import { encodeShard } from '../../../shared/store/shard-codec.js';
import { concatBatches } from '../../../shared/store/shard-reader.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { image, tabular } from './helpers.js';

const tabularMeta = (dim: number) =>
  ({ kind: 'tabular', format: 'libsvm', features: dim, labelKind: 'class' }) as const;

async function collect(it: AsyncIterable<RowBatch>): Promise<RowBatch[]> {
  const out: RowBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('dataset store', () => {
  let r: TestRedis;
  before(async () => {
    r = await startTestRedis();
  });
  after(async () => {
    await r.stop();
  });
  const setup = () => {
    const client = r.client();
    const keys = new Keys(r.prefix());
    return { client, keys, store: new DatasetStore(client, keys) };
  };

  test('tabular versions round-trip shard by shard with sha256 over shard bytes', async () => {
    const { store } = setup();
    const shards = [tabular(100, 8, 0), tabular(100, 8, 100), tabular(37, 8, 200)];
    const w = store.beginVersion('digits');
    for (const s of shards) await w.writeShard(s);
    const meta = await w.commit({ ...tabularMeta(8), labelNames: ['0', '1'], stats: { mean: 1 } });
    assert.equal(meta.version, 1);
    assert.equal(meta.count, 237);
    const sha = createHash('sha256');
    for (const s of shards) sha.update(encodeShard(s));
    assert.equal(meta.sha256, sha.digest('hex'));
    assert.deepEqual(
      meta.shards.map((s) => [s.version, s.index, s.rows]),
      [
        [1, 0, 100],
        [1, 1, 100],
        [1, 2, 37],
      ],
    );
    assert.deepEqual(await store.getVersion('digits', 1), meta);
    assert.deepEqual(await collect(store.readShards('digits', 1)), shards);
    assert.deepEqual(await collect(store.readShards('digits', 1, { from: 1, to: 2 })), [shards[1]]);
    const rows = await store.readRows('digits', 1, 95, 10);
    assert.deepEqual(rows, sliceOf(shards, 95, 10));
    assert.equal((await store.readRows('digits', 1, 230, 50)).rows, 7, 'clamped at the end');
    assert.equal((await store.readRows('digits', 1, 237, 5)).rows, 0);
    await assert.rejects(store.readRows('digits', 1, 238, 1), /outside/);
    await assert.rejects(store.getVersion('digits', 2), NotFound);
  });

  test('image versions round-trip', async () => {
    const { store } = setup();
    const shards = [image(10, 8, 8, 3), image(5, 8, 8, 3, 10)];
    const w = store.beginVersion('cats');
    for (const s of shards) await w.writeShard(s);
    const meta = await w.commit({
      kind: 'image',
      format: 'images',
      imageShape: { height: 8, width: 8, channels: 3 },
      labelKind: 'class',
    });
    assert.equal(meta.count, 15);
    assert.deepEqual(await collect(store.readShards('cats', meta.version)), shards);
    const mid = await store.readRows('cats', 1, 8, 4);
    assert.equal(mid.kind, 'image');
    assert.deepEqual(Array.from(mid.labels), [8, 9, 10, 11]);
    const w2 = store.beginVersion('cats');
    await w2.writeShard(image(1, 8, 8, 3));
    await assert.rejects(w2.writeShard(image(1, 4, 4, 3)), /earlier shards are image 8x8x3/);
    await w2.abort();
  });

  test('concurrent uploads to one name commit as distinct versions', async () => {
    const { store } = setup();
    const metas = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const w = store.beginVersion('race');
        await w.writeShard(tabular(10 + i, 4));
        await w.writeShard(tabular(5, 4));
        return w.commit(tabularMeta(4));
      }),
    );
    assert.deepEqual(metas.map((m) => m.version).sort(), [1, 2, 3, 4, 5, 6]);
    const info = await store.getDataset('race');
    assert.equal(info.latest, 6);
    for (const m of metas) {
      const back = await collect(store.readShards('race', m.version));
      assert.equal(back[0]!.rows + back[1]!.rows, m.count);
    }
    assert.deepEqual(
      (await store.listDatasets()).map((d) => [d.name, d.versions, d.latest]),
      [['race', 6, 6]],
    );
  });

  test('append versions share base shards; shards go only when no version lists them', async () => {
    const { store, client, keys } = setup();
    const w1 = store.beginVersion('s');
    await w1.writeShard(tabular(3, 2, 0));
    await w1.writeShard(tabular(3, 2, 3));
    const v1 = await w1.commit(tabularMeta(2));
    const w2 = await store.appendVersion('s', 1);
    await w2.writeShard(tabular(4, 2, 6));
    const v2 = await w2.commit(tabularMeta(2));
    assert.equal(v2.parent, 1);
    assert.equal(v2.count, 10);
    assert.deepEqual(
      v2.shards.map((s) => [s.version, s.index]),
      [
        [1, 0],
        [1, 1],
        [2, 0],
      ],
    );
    const sha = createHash('sha256');
    for (const b of [tabular(3, 2, 0), tabular(3, 2, 3), tabular(4, 2, 6)])
      sha.update(encodeShard(b));
    assert.equal(v2.sha256, sha.digest('hex'));
    assert.equal(v2.bytes, v1.bytes + encodeShard(tabular(4, 2, 6)).length);
    await assert.rejects((await store.appendVersion('s', 2)).writeShard(tabular(1, 3)), /dim|3/);

    await store.deleteVersion('s', 1);
    await assert.rejects(store.getVersion('s', 1), NotFound);
    assert.equal(await client.exists(keys.datasetShard('s', 1, 0)), 1, 'still listed by v2');
    assert.equal((await collect(store.readShards('s', 2))).length, 3);
    await store.deleteVersion('s', 2);
    assert.equal(
      await client.exists(keys.datasetShard('s', 1, 0), keys.datasetShard('s', 2, 0)),
      0,
    );
    const left = await client.keys(`${keys.prefix}:dataset:{s}:v*`);
    assert.deepEqual(left, []);
    const info = await store.getDataset('s');
    assert.equal(info.latest, null);
    const w3 = store.beginVersion('s');
    await w3.writeShard(tabular(1, 2));
    assert.equal((await w3.commit(tabularMeta(2))).version, 3, 'deleted numbers are not reused');
  });

  test('commit checks the metadata against the shards', async () => {
    const { store } = setup();
    const w = store.beginVersion('m');
    await w.writeShard(tabular(2, 5));
    await assert.rejects(w.commit({ ...tabularMeta(5), count: 3 }), /count 3/);
    const w2 = store.beginVersion('m');
    await w2.writeShard(tabular(2, 5));
    await assert.rejects(w2.commit(tabularMeta(6)), /features 6/);
    // A refused commit leaves the writer open: fix the metadata and commit again.
    await w2.writeShard(tabular(1, 5));
    const meta = await w2.commit(tabularMeta(5));
    assert.equal(meta.count, 3);
    await assert.rejects(w2.writeShard(tabular(1, 5)), Conflict);
  });
});

function sliceOf(shards: RowBatch[], start: number, n: number): RowBatch {
  const all = concatBatches(shards);
  if (all.kind !== 'tabular') throw new Error('tabular expected');
  const w = all.dim;
  return {
    ...all,
    rows: n,
    features: all.features.slice(start * w, (start + n) * w),
    labels: all.labels.slice(start, start + n),
  };
}
