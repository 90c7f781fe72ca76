import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict } from '../../../shared/errors.js';
import { Keys } from '../../../shared/store/keys.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { tabular } from './helpers.js';

let r: TestRedis;
before(async () => {
  r = await startTestRedis();
});
after(async () => {
  await r.stop();
});

test('a dataset version that a lineage points at is kept unless forced', async () => {
  const client = r.client();
  const keys = new Keys(r.prefix());
  const datasets = new DatasetStore(client, keys);
  const models = new ModelRegistry(client, keys);
  for (let i = 0; i < 2; i++) {
    const w = datasets.beginVersion('iris');
    await w.writeShard(tabular(5, 4));
    await w.commit({ kind: 'tabular', format: 'csv', features: 4, labelKind: 'class' });
  }
  await models.addGeneration('iris-mlp', {
    type: 'classifier',
    weights: Buffer.alloc(4),
    lineage: { dataset: 'iris', version: 1 },
  });
  await models.addGeneration('iris-lr', {
    type: 'classifier',
    weights: Buffer.alloc(4),
    lineage: { dataset: 'iris', version: 1 },
  });

  await assert.rejects(datasets.deleteVersion('iris', 1), (err: unknown) => {
    assert.ok(err instanceof Conflict);
    assert.deepEqual((err.details as { references: unknown }).references, [
      { model: 'iris-lr', gen: 1 },
      { model: 'iris-mlp', gen: 1 },
    ]);
    return true;
  });
  await datasets.deleteVersion('iris', 2); // no lineage points at v2

  // Once the generations are gone the version is free to delete.
  await models.deleteGeneration('iris-lr', 1);
  await assert.rejects(datasets.deleteVersion('iris', 1), Conflict);
  await datasets.deleteVersion('iris', 1, { force: true });
  assert.deepEqual((await datasets.getDataset('iris')).versions, []);
  assert.equal((await models.getGeneration('iris-mlp', 1)).lineage?.version, 1, 'lineage kept');
});
