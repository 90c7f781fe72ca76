import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/runtime/logger.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { RegistrySource } from '../../../services/serving/hosting/registry-source.js';
import { addConstantModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

let redis: TestRedis;
let s: Serving;
let source: RegistrySource;
let registry: ModelRegistry;

before(async () => {
  redis = await startTestRedis();
  const keys = new Keys(redis.prefix());
  registry = new ModelRegistry(redis.client(), keys);
  await registry.addGeneration('adder', {
    type: 'regressor',
    weights: addConstantModel({ value: 1 }),
  });
  await registry.promote('adder', 1);
  await registry.addGeneration('adder', {
    type: 'regressor',
    weights: addConstantModel({ value: 2 }),
  });
  source = new RegistrySource(registry, redis.client(), keys, createLogger('t', 'silent'));
  s = await startServing(source);
});
after(async () => {
  await s.stop();
  await source.close();
  await redis.stop();
});

test('serves the registry production generation and follows promotions over pub/sub', async () => {
  const before = await s.post('/v2/models/adder/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
  assert.equal(before.status, 200, JSON.stringify(before.body));
  assert.equal(before.body.model_version, '1');
  assert.deepEqual((await s.get('/v2/models/adder')).body.versions, ['1', '2']);

  await registry.promote('adder', 2);
  await waitFor(() => s.app.fleet.host('adder')?.gen === 2, { what: 'generation 2 live' });
  const after = await s.post('/v2/models/adder/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
  assert.equal(after.body.model_version, '2');
  assert.deepEqual(after.body.outputs[0].data, [2, 2, 2, 2]);

  // A model registered after start is picked up on its first promotion (MODELS=*).
  await registry.addGeneration('late', {
    type: 'regressor',
    weights: addConstantModel({ value: 5 }),
  });
  await registry.promote('late', 1);
  await waitFor(() => s.app.fleet.host('late')?.gen === 1, { what: 'new model served' });
  const late = await s.post('/v2/models/late/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
  assert.deepEqual(late.body.outputs[0].data, [5, 5, 5, 5]);
});
