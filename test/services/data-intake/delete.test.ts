import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelRegistry } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { call, libsvm, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r);
});
after(async () => {
  await h.close();
  await r.stop();
});

test('a version is deleted; other versions stay', async () => {
  await upload(h, 'del', libsvm(20, 2));
  await upload(h, 'del', libsvm(30, 2));
  const res = await call(h, 'DELETE', '/api/v1/datasets/del/versions/1');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { name: 'del', version: 1, deleted: true });
  assert.equal((await call(h, 'GET', '/api/v1/datasets/del/versions/1')).status, 404);
  assert.equal((await call(h, 'GET', '/api/v1/datasets/del/versions/2')).body.count, 30);
  assert.equal((await call(h, 'DELETE', '/api/v1/datasets/del/versions/1')).status, 404);
});

test('a version a model generation was trained on is refused unless forced by an admin', async () => {
  await upload(h, 'lin', libsvm(20, 2));
  await new ModelRegistry(r.client(), h.keys).addGeneration('lin-mlp', {
    type: 'classifier',
    weights: Buffer.alloc(4),
    lineage: { dataset: 'lin', version: 1 },
  });
  const refused = await call(h, 'DELETE', '/api/v1/datasets/lin/versions/1');
  assert.equal(refused.status, 409);
  assert.deepEqual(refused.body.details.references, [{ model: 'lin-mlp', gen: 1 }]);

  const op = await call(h, 'POST', '/api/v1/tokens', { name: 'op', role: 'operator' });
  const asOperator = await fetch(`${h.url}/api/v1/datasets/lin/versions/1?force=true`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${op.body.token}` },
  });
  assert.equal(asOperator.status, 403);

  const forced = await call(h, 'DELETE', '/api/v1/datasets/lin/versions/1?force=true');
  assert.equal(forced.status, 200);
  assert.equal((await call(h, 'GET', '/api/v1/datasets/lin/versions/1')).status, 404);
});

test('deleting the base of an append keeps the rows the append still lists', async () => {
  await upload(h, 'chain', libsvm(40, 2));
  await call(h, 'POST', '/api/v1/datasets/chain/append', {
    rows: [{ features: [0.5, 0.5], label: 1 }],
  });
  assert.equal((await call(h, 'DELETE', '/api/v1/datasets/chain/versions/1')).status, 200);
  const rows = await call(h, 'GET', '/api/v1/datasets/chain/versions/2/rows?format=json&count=100');
  assert.equal(rows.status, 200);
  assert.equal(rows.body.rows, 41);
});
