import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createLogger } from '../../../../shared/index.js';
import { clusterReporter } from '../../../../services/event-handler/cluster-route.js';
import { ProcessBackend } from '../../../../services/event-handler/process-backend.js';
import { workerArgs } from '../../../../services/event-handler/swarm/swarm-service-spec.js';
import { createListenerHealthServer } from '../../../../services/event-listener/health-server.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';

const log = createLogger('test', 'silent');

// What Docker's healthcheck (docker/healthcheck.mjs) asks of the event-listener, without Docker.
describe('event-listener health server', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(() => redis.stop());

  test('200 while Redis answers and the listener runs; 503 naming what failed when not so', async () => {
    let running = true;
    const client = redis.client();
    const health = createListenerHealthServer({ redis: client, log, running: () => running });
    const port = await health.listen(0, '127.0.0.1');
    const get = (path = '/healthz') => fetch(`http://127.0.0.1:${port}${path}`);
    try {
      const ok = await get();
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'ok' });
      assert.deepEqual(await (await get('/readyz')).json(), {
        status: 'ready',
        checks: { redis: 'ok', running: 'ok' },
      });
      running = false;
      const down = await get();
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), {
        status: 'unhealthy',
        failed: [{ name: 'running', reason: 'not ready' }],
      });
      assert.equal((await get('/readyz')).status, 503);
      running = true;
      const other = await get('/other');
      assert.equal(other.status, 404);
      assert.equal(((await other.json()) as { error: string }).error, 'NOT_FOUND');
    } finally {
      await health.close();
    }
  });

  test('a Redis that does not answer makes it unhealthy within the ping timeout', async () => {
    // Nothing listens on a closed port; the client keeps retrying, the check must not hang.
    const dead = new Redis({ port: 1, lazyConnect: false, maxRetriesPerRequest: 0 });
    dead.on('error', () => {});
    const health = createListenerHealthServer({
      redis: dead,
      log,
      running: () => true,
      pingTimeoutMs: 200,
    });
    const port = await health.listen(0, '127.0.0.1');
    try {
      const t0 = Date.now();
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { failed: { name: string }[] };
      assert.deepEqual(
        body.failed.map((f) => f.name),
        ['redis'],
      );
      assert.ok(Date.now() - t0 < 2_000);
    } finally {
      await health.close();
      dead.disconnect();
    }
  });
});

test("the event handler's /cluster answers local mode for the process backend", async () => {
  const backend = new ProcessBackend(createLogger('test', 'silent'));
  try {
    assert.deepEqual(await clusterReporter(backend)(), { mode: 'local' });
  } finally {
    await backend.close();
  }
});

test('a session without a command runs the built-in worker for its kind, in the built-in image only', () => {
  const spec = {
    sessionId: 's',
    kind: 'train' as const,
    command: [],
    env: {},
    device: 'cpu' as const,
    limits: {},
  };
  assert.deepEqual(workerArgs(spec, 'swarmml/app:1'), ['trainer']);
  assert.deepEqual(workerArgs({ ...spec, kind: 'batch-infer' }, 'swarmml/app:1'), ['batch-infer']);
  assert.deepEqual(workerArgs({ ...spec, image: 'lab/own:2' }, 'swarmml/app:1'), []);
  assert.deepEqual(workerArgs({ ...spec, command: ['sh', '-c', 'exit 3'] }, 'swarmml/app:1'), [
    'sh',
    '-c',
    'exit 3',
  ]);
});
