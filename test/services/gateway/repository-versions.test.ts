/**
 * Version policy and Triton's repository load/unload through the gateway, over HTTP and
 * gRPC, against a real serving replica on the Redis registry: a rejected generation answers
 * 404 saying why until an operator loads it, and stops once unloaded, while 16 clients keep
 * asking the other generations without an error. Compression through the gateway too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { mlpModel } from '../../helpers/onnx-models.js';
import type { TestGateway } from '../../helpers/gateway.js';
import {
  startGatewayOverRegistry,
  type GatewayOverRegistry,
} from '../../helpers/gateway-over-replica.js';
import { hasStatus, type InferenceClient } from '../../helpers/grpc-client.js';
import { waitFor } from '../../helpers/wait.js';

const SIZES = [4, 16, 3];
const body = {
  inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4] }],
};

let env: GatewayOverRegistry;
let tg: TestGateway;
let rpc: InferenceClient;
let admin: string;
let client: string;

before(async () => {
  env = await startGatewayOverRegistry(
    async (s) => {
      for (const seed of [1, 2, 3]) {
        await s.registry.addGeneration('m', { type: 'classifier', weights: mlpModel(SIZES, seed) });
      }
      await s.registry.promote('m', 1);
      await s.registry.reject('m', 2, 'worse than production');
    },
    (s) => s.app.fleet.host('m')?.gen === 1,
  );
  ({ g: tg, rpc } = env);
  admin = tg.adminToken;
  client = (await tg.gw.ctx.tokens.create('c', 'client')).token;
});

after(() => env?.close());

const call = async (
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; raw?: Buffer; headers?: Record<string, string> } = {},
) => {
  const res = await fetch(tg.url + path, {
    method,
    headers: {
      authorization: `Bearer ${opts.token ?? admin}`,
      'content-type': 'application/json',
      ...opts.headers,
    },
    ...(opts.raw
      ? { body: new Uint8Array(opts.raw) }
      : opts.json === undefined
        ? {}
        : { body: JSON.stringify(opts.json) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
};
const infer = (version?: number) =>
  call('POST', `/v2/models/m${version ? `/versions/${version}` : ''}/infer`, {
    token: client,
    json: body,
  });

describe('version policy', () => {
  test('a rejected generation answers 404 saying why and how to load it', async () => {
    const res = await infer(2);
    assert.equal(res.status, 404);
    assert.match(
      res.json.error,
      /generation 2 of m is rejected; load it with POST \/v2\/repository\/models\/m\/load/,
    );
    const meta = await call('GET', '/v2/models/m/versions/2', { token: client });
    assert.equal(meta.status, 404);
    assert.equal((await infer(3)).status, 200, 'a candidate is in the default policy');
    const index = await call('POST', '/v2/repository/index', { json: {} });
    const line = index.json.find((e: any) => e.name === 'm' && e.version === '2');
    assert.equal(line.state, 'UNAVAILABLE');
    assert.match(line.reason, /generation 2 of m is rejected; load it with/);
    const ready = await call('POST', '/v2/repository/index', { json: { ready: true } });
    assert.ok(
      ready.json.every((e: any) => e.state === 'READY'),
      ready.text,
    );
    assert.equal((await infer(1)).status, 200);
  });

  test('PUT a policy: generations outside it answer 404; production always served', async () => {
    const put = await call('PUT', '/api/v1/models/m/version-policy', { json: { specific: [2] } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json.served, [1], 'a rejected generation is never in a policy');
    await waitFor(async () => (await infer(3)).status === 404, { what: 'policy applied' });
    assert.match((await infer(3)).json.error, /outside its version policy \{"specific":\[2\]\}/);
    assert.equal((await infer(1)).status, 200);
    const latest = await call('PUT', '/api/v1/models/m/version-policy', { json: { latest: 1 } });
    assert.deepEqual(latest.json.served, [1, 3]);
    await waitFor(async () => (await infer(3)).status === 200, { what: 'latest 1 serves 3' });
    const bad = await call('PUT', '/api/v1/models/m/version-policy', { json: { latest: 0 } });
    assert.equal(bad.status, 400);
    const viewer = (await tg.gw.ctx.tokens.create('v', 'viewer')).token;
    assert.equal(
      (await call('PUT', '/api/v1/models/m/version-policy', { token: viewer, json: { all: true } }))
        .status,
      403,
    );
    const reset = await call('DELETE', '/api/v1/models/m/version-policy');
    assert.deepEqual(reset.json.policy, { all: true });
  });
});

describe('repository load and unload', () => {
  test('HTTP: loading a rejected generation serves it, unloading stops it; 0 errors for the others under 16 clients', async () => {
    let stop = false;
    let ok = 0;
    const errors: string[] = [];
    const clients = Array.from({ length: 16 }, async (_, i) => {
      while (!stop) {
        const res = await infer([undefined, 1, 3][i % 3]);
        if (res.status === 200) ok++;
        else errors.push(`${res.status} ${res.text}`);
      }
    });
    try {
      const load = await call('POST', '/v2/repository/models/m/load', {
        json: { parameters: { version: '2' } },
      });
      assert.equal(load.status, 200, load.text);
      // load returns once a replica has it ready
      assert.equal((await infer(2)).status, 200);
      const index = await call('POST', '/v2/repository/index', { json: {} });
      assert.ok(
        index.json.some((e: any) => e.name === 'm' && e.version === '2' && e.state === 'READY'),
        index.text,
      );
      const unload = await call('POST', '/v2/repository/models/m/unload', {
        json: { parameters: { version: 2, unload_dependents: true } },
      });
      assert.equal(unload.status, 200, unload.text);
      const after = await infer(2);
      assert.equal(after.status, 404);
      assert.match(after.json.error, /is rejected/);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(errors, []);
    assert.ok(ok > 16, `only ${ok} answers`);
  });

  test('HTTP: refused without admin, unknown model or generation, bad parameters', async () => {
    const path = '/v2/repository/models/m/load';
    assert.equal((await call('POST', path, { token: client })).status, 403);
    assert.equal((await call('POST', '/v2/repository/models/nope/load')).status, 404);
    const gen = await call('POST', path, { json: { parameters: { version: '9' } } });
    assert.equal(gen.status, 404, gen.text);
    const bad = await call('POST', path, { json: { parameters: { version: 'two' } } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /parameters\.version/);
    const file = await call('POST', path, { json: { parameters: { config: '{}' } } });
    assert.equal(file.status, 400);
  });

  test('gRPC: RepositoryModelLoad/Unload with a version parameter', async () => {
    const req = (version: string) => ({
      model_name: 'm',
      parameters: { version: { string_param: version } },
    });
    const inferReq = {
      model_name: 'm',
      model_version: '2',
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, 4],
          contents: { fp32_contents: [0.1, 0.2, 0.3, 0.4] },
        },
      ],
    };
    await assert.rejects(
      rpc.call('ModelInfer', inferReq, client),
      hasStatus(status.NOT_FOUND, /rejected/),
    );
    await assert.rejects(
      rpc.call('RepositoryModelLoad', req('2'), client),
      hasStatus(status.PERMISSION_DENIED),
    );
    await rpc.call('RepositoryModelLoad', req('2'), admin);
    const res = await rpc.call('ModelInfer', inferReq, client);
    assert.equal(res.model_version, '2');
    await rpc.call('RepositoryModelUnload', req('2'), admin);
    await assert.rejects(
      rpc.call('ModelInfer', inferReq, client),
      hasStatus(status.NOT_FOUND, /rejected/),
    );
    await assert.rejects(
      rpc.call('RepositoryModelLoad', req('x'), admin),
      hasStatus(status.INVALID_ARGUMENT, /parameters\.version/),
    );
  });
});

describe('compression through the gateway', () => {
  test('a gzip body is accepted; one that inflates past the limit is a 413', async () => {
    const ok = await call('POST', '/v2/models/m/infer', {
      token: client,
      raw: gzipSync(JSON.stringify(body)),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(ok.status, 200, ok.text);
    // 80 MiB of spaces: under 100 KiB on the wire, past the gateway's 64 MiB limit
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20));
    const res = await call('POST', '/v2/models/m/infer', {
      token: client,
      raw: bomb,
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(res.status, 413);
    assert.match(res.json.error, /inflates past the limit/);
  });
});
