import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliCommand } from '../../../shared/runtime/entry.js';
import { createLogger } from '../../../shared/runtime/logger.js';
import { buildApp, type Gateway } from '../../../services/gateway/app.js';
import { loadConfig as gatewayConfig } from '../../../services/gateway/config.js';
import { addConstantModel } from '../../helpers/onnx-models.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { v2Body } from './harness.js';
import { startRegistryServing, type RegistryServing } from './registry-serving.js';

let r: TestRedis;
let s: RegistryServing;
let gw: Gateway;
let gwUrl: string;
const token = randomBytes(16).toString('hex');

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(gwUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
};

before(async () => {
  r = await startTestRedis();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix);
  for (const [name, value] of [
    ['alpha', 1],
    ['beta', 2],
  ] as const) {
    await s.registry.addGeneration(name, {
      type: 'regressor',
      weights: addConstantModel({ value }),
    });
    await s.registry.promote(name, 1);
  }
  await waitFor(() => s.app.fleet.host('alpha')?.gen === 1 && s.app.fleet.host('beta')?.gen === 1, {
    what: 'both models live',
  });
  gw = buildApp({
    config: gatewayConfig({
      REDIS_URL: r.url,
      SWARMML_PREFIX: prefix,
      ADMIN_TOKEN: token,
      LOG_LEVEL: 'silent',
      SERVING_UPSTREAM: `${s.url},http://127.0.0.1:9`,
    }),
    log: createLogger('gw', 'silent'),
    redis: r.client(),
  });
  await gw.start();
  await new Promise<void>((resolve) => gw.server.listen(0, '127.0.0.1', resolve));
  gwUrl = `http://127.0.0.1:${(gw.server.address() as AddressInfo).port}`;
});
after(async () => {
  await gw?.close();
  await s?.stop();
  await r?.stop();
});

test('assigning models makes replicas load exactly those; unassigning the last serves all again', async () => {
  const listed = await api('GET', '/api/v1/serving');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.equal(listed.body.assignment, '*');
  assert.deepEqual(
    listed.body.models.map((m: any) => [m.model, m.served[0].gen, m.served[0].state]),
    [
      ['alpha', 1, 'ready'],
      ['beta', 1, 'ready'],
    ],
  );
  // The dead upstream is reported, not fatal.
  assert.deepEqual(listed.body.replicas.map((x: any) => x.ok).sort(), [false, true]);

  const assigned = await api('POST', '/api/v1/serving/assignment', { models: ['alpha'] });
  assert.deepEqual(assigned.body.assignment, ['alpha']);
  await waitFor(() => s.app.fleet.names().join() === 'alpha', { what: 'beta drained' });
  assert.equal(
    (await s.post('/v2/models/beta/infer', v2Body('x', [1, 4], [0, 0, 0, 0]))).status,
    404,
  );
  const a = await s.post('/v2/models/alpha/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
  assert.deepEqual(a.body.outputs[0].data, [1, 1, 1, 1]);
  assert.deepEqual(
    (await api('GET', '/api/v1/serving')).body.models.map((m: any) => m.model),
    ['alpha'],
  );

  // A promotion of an unassigned model does not load it here.
  await s.registry.addGeneration('gamma', {
    type: 'regressor',
    weights: addConstantModel({ value: 3 }),
  });
  await s.registry.promote('gamma', 1);
  await api('POST', '/api/v1/serving/assignment', { models: ['gamma'] });
  await waitFor(() => s.app.fleet.host('gamma')?.gen === 1, { what: 'gamma assigned and loaded' });
  assert.deepEqual(s.app.fleet.names(), ['alpha', 'gamma']);

  await api('DELETE', '/api/v1/serving/assignment/alpha');
  await waitFor(() => s.app.fleet.names().join() === 'gamma', { what: 'alpha drained' });
  const all = await api('DELETE', '/api/v1/serving/assignment/gamma');
  assert.equal(all.body.assignment, '*');
  await waitFor(() => s.app.fleet.hostsInfo().filter((h) => h.state === 'ready').length === 3, {
    what: 'every model served again',
  });
  const b = await s.post('/v2/models/beta/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
  assert.deepEqual(b.body.outputs[0].data, [2, 2, 2, 2]);
});

test('assignment requests are validated and need the admin role', async () => {
  assert.equal(
    (await api('POST', '/api/v1/serving/assignment', { models: ['bad name!'] })).status,
    400,
  );
  assert.equal((await api('POST', '/api/v1/serving/assignment', { models: [] })).status, 400);
  const anon = await fetch(`${gwUrl}/api/v1/serving/assignment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ models: ['alpha'] }),
  });
  assert.equal(anon.status, 401);
});

test('swarmml serve assigns and swarmml serving shows what is served where', async () => {
  // Asynchronous: the gateway that answers the CLI runs in this very process.
  const cli = async (...args: string[]) => {
    const { command, args: base } = cliCommand();
    const r = await promisify(execFile)(command, [
      ...base,
      '--url',
      gwUrl,
      '--token',
      token,
      ...args,
    ]);
    return r.stdout;
  };
  assert.match(await cli('serve', 'beta'), /serving: beta/);
  await waitFor(() => s.app.fleet.names().join() === 'beta', { what: 'only beta served' });
  const out = await cli('serving');
  assert.match(out, /assignment: beta/);
  assert.match(out, /beta\s+\S+\s+http:\/\/127\.0\.0\.1:\d+\s+1\s+ready/);
  assert.match(out, /unreachable: http:\/\/127\.0\.0\.1:9/);
  assert.match(await cli('serve', 'beta', '--remove'), /every model/);
});
