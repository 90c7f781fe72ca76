import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Conflict, NotFound } from '../../../shared/errors.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import type { ModelEvent } from '../../../shared/store/generation.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

describe('model registry', () => {
  let r: TestRedis;
  before(async () => {
    r = await startTestRedis();
  });
  after(async () => {
    await r.stop();
  });
  const registry = (opts = {}) => new ModelRegistry(r.client(), new Keys(r.prefix()), opts);

  test('generations are numbered 1,2,3, listed ascending, lineage and fields kept', async () => {
    const reg = registry();
    const g1 = await reg.addGeneration('digits', {
      type: 'classifier',
      weights: Buffer.from('one'),
      metrics: { accuracy: 0.9 },
      params: { lr: 0.1 },
      lineage: { dataset: 'digits', version: 1 },
      trigger: 'manual',
      sessionId: 's1',
      io: { inputs: [{ name: 'x', shape: [-1, 64] }] },
    });
    const g2 = await reg.addGeneration('digits', { weights: Buffer.from('two') });
    const g3 = await reg.addGeneration('digits', { type: 'classifier', weights: Buffer.alloc(0) });
    assert.deepEqual([g1.gen, g2.gen, g3.gen], [1, 2, 3]);
    const list = await reg.listGenerations('digits');
    assert.deepEqual(
      list.map((g) => [g.gen, g.status]),
      [
        [1, 'candidate'],
        [2, 'candidate'],
        [3, 'candidate'],
      ],
    );
    const got = await reg.getGeneration('digits', 1);
    assert.deepEqual(got, g1);
    assert.deepEqual(got.lineage, { dataset: 'digits', version: 1 });
    assert.equal(got.sha256, createHash('sha256').update('one').digest('hex'));
    assert.equal(got.size, 3);
    assert.equal((await reg.getWeights('digits', 2)).toString(), 'two');
    assert.equal((await reg.getWeights('digits', 3)).length, 0);
    const m = await reg.getModel('digits');
    assert.equal(m.type, 'classifier');
    assert.equal(m.generations, 3);
    assert.equal(m.production, null);
    assert.deepEqual(await reg.datasetReferences('digits', 1), [{ model: 'digits', gen: 1 }]);
  });

  test('names are unique across types; listModels filters by type', async () => {
    const reg = registry();
    await reg.ensureModel('a', { type: 'classifier', description: 'first' });
    await reg.ensureModel('b', { type: 'regressor' });
    await assert.rejects(reg.ensureModel('a', { type: 'regressor' }), Conflict);
    await assert.rejects(
      reg.addGeneration('a', { type: 'detector', weights: Buffer.alloc(1) }),
      Conflict,
    );
    await assert.rejects(reg.addGeneration('nope', { weights: Buffer.alloc(1) }), NotFound);
    await assert.rejects(reg.ensureModel('bad{name}', { type: 'x' }), /invalid model name/);
    assert.deepEqual(
      (await reg.listModels()).map((m) => m.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await reg.listModels('regressor')).map((m) => m.name),
      ['b'],
    );
    assert.equal((await reg.getModel('a')).description, 'first');
  });

  test('unknown generation: NotFound listing the known ones', async () => {
    const reg = registry();
    await reg.addGeneration('m', { type: 'classifier', weights: Buffer.alloc(4) });
    await assert.rejects(reg.getGeneration('m', 7), (err: unknown) => {
      assert.ok(err instanceof NotFound);
      assert.deepEqual(err.details, { name: 'm', gen: 7, known: [1] });
      return true;
    });
    await assert.rejects(reg.getModel('ghost'), NotFound);
  });

  test('weights are chunked and verified against sha256', async () => {
    const client = r.client();
    const keys = new Keys(r.prefix());
    const reg = new ModelRegistry(client, keys, { chunkSize: 10 });
    const weights = Buffer.from('0123456789abcdefghij0123456789X');
    await reg.addGeneration('c', { type: 'classifier', weights });
    assert.equal(await client.exists(keys.modelGenBlob('c', 1, 3)), 1);
    assert.equal(await client.ttl(keys.modelGenBlob('c', 1, 0)), -1, 'committed chunks persist');
    assert.deepEqual(await reg.getWeights('c', 1), weights);
    await client.setrange(keys.modelGenBlob('c', 1, 1), 0, 'Z');
    await assert.rejects(reg.getWeights('c', 1), /corrupt: sha256/);
  });

  test('promotion archives the previous production; rejected needs force', async () => {
    const client = r.client();
    const keys = new Keys(r.prefix());
    const reg = new ModelRegistry(client, keys);
    for (let i = 0; i < 3; i++)
      await reg.addGeneration('p', { type: 'c', weights: Buffer.alloc(8, i) });
    const sub = r.client();
    const seen: ModelEvent[] = [];
    sub.on('message', (_ch, msg) => seen.push(JSON.parse(msg) as ModelEvent));
    await sub.subscribe(keys.modelEventsChannel());

    assert.deepEqual(await reg.promote('p', 1), { previous: null });
    assert.deepEqual(await reg.promote('p', 2), { previous: 1 });
    assert.equal((await reg.getGeneration('p', 1)).status, 'archived');
    assert.equal((await reg.getProduction('p'))?.gen, 2);
    assert.deepEqual(await reg.promote('p', 2), { previous: null }, 'no-op');

    await reg.reject('p', 3, 'accuracy 0.5 < 0.9');
    const g3 = await reg.getGeneration('p', 3);
    assert.equal(g3.status, 'rejected');
    assert.equal(g3.reason, 'accuracy 0.5 < 0.9');
    await assert.rejects(reg.promote('p', 3), Conflict);
    await assert.rejects(reg.reject('p', 2, 'no'), Conflict, 'production cannot be rejected');
    assert.deepEqual(await reg.promote('p', 3, { force: true }), { previous: 2 });
    await assert.rejects(reg.promote('p', 9), NotFound);

    await waitFor(() => seen.length >= 6, { what: 'model events' });
    assert.deepEqual(seen.slice(0, 6), [
      { model: 'p', gen: 1, status: 'production' },
      { model: 'p', gen: 1, status: 'archived' },
      { model: 'p', gen: 2, status: 'production' },
      { model: 'p', gen: 3, status: 'rejected' },
      { model: 'p', gen: 2, status: 'archived' },
      { model: 'p', gen: 3, status: 'production' },
    ]);
    await reg.archive('p', 3);
    assert.equal((await reg.getModel('p')).production, null);
  });

  test('20 concurrent promoters on separate connections leave exactly one production', async () => {
    const prefix = r.prefix();
    const keys = new Keys(prefix);
    const reg = new ModelRegistry(r.client(), keys);
    for (let i = 0; i < 20; i++) {
      await reg.addGeneration('race', { type: 'c', weights: Buffer.alloc(16, i) });
    }
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new ModelRegistry(r.client(), keys).promote('race', i + 1),
      ),
    );
    const gens = await reg.listGenerations('race');
    const prod = gens.filter((g) => g.status === 'production');
    assert.equal(prod.length, 1);
    assert.equal((await reg.getModel('race')).production, prod[0]!.gen);
    for (const g of gens)
      assert.ok(['production', 'archived'].includes(g.status), `${g.gen}: ${g.status}`);
    // Each promotion archived exactly the one before it: previous values form one chain.
    const prevs = results.map((x) => x.previous);
    assert.equal(prevs.filter((p) => p === null).length, 1);
    assert.equal(new Set(prevs).size, 20);
  });

  test('updateGeneration merges metrics and extra', async () => {
    const reg = registry();
    await reg.addGeneration('u', {
      type: 'c',
      weights: Buffer.alloc(1),
      metrics: { loss: 1, acc: 0.5 },
    });
    await Promise.all([
      reg.updateGeneration('u', 1, { metrics: { acc: 0.7 } }),
      reg.updateGeneration('u', 1, { metrics: { f1: 0.6 }, extra: { note: 'x' } }),
      reg.updateGeneration('u', 1, { extra: { other: 2 }, io: { outputs: [] } }),
    ]);
    const g = await reg.getGeneration('u', 1);
    assert.deepEqual(g.metrics, { loss: 1, acc: 0.7, f1: 0.6 });
    assert.deepEqual(g.extra, { note: 'x', other: 2 });
    assert.deepEqual(g.io, { outputs: [] });
  });

  test('deleting production is refused; deleting a candidate removes its chunks', async () => {
    const client = r.client();
    const keys = new Keys(r.prefix());
    const reg = new ModelRegistry(client, keys, { chunkSize: 4 });
    await reg.addGeneration('d', {
      type: 'c',
      weights: Buffer.alloc(10),
      lineage: { dataset: 'ds', version: 2 },
    });
    await reg.addGeneration('d', { weights: Buffer.alloc(10) });
    await reg.promote('d', 2);
    await assert.rejects(reg.deleteGeneration('d', 2), Conflict);
    await reg.deleteGeneration('d', 1);
    assert.equal(await client.exists(keys.modelGenBlob('d', 1, 0), keys.modelGen('d', 1)), 0);
    assert.deepEqual(await reg.datasetReferences('ds', 2), []);
    assert.deepEqual(
      (await reg.listGenerations('d')).map((g) => g.gen),
      [2],
    );
    await assert.rejects(reg.deleteModel('d'), Conflict);
    await reg.deleteModel('d', { force: true });
    await assert.rejects(reg.getModel('d'), NotFound);
    assert.deepEqual(await reg.listModels(), []);
    assert.deepEqual(await client.keys(`${keys.prefix}:model:*`), []);
  });
});
