/**
 * The canary split over gRPC: ModelInfer carries the caller's token (and the client's own
 * `x-request-key` metadata) to the replica as the HTTP proxy does, so one client keeps one
 * generation during a canary step whatever the protocol, and distinct request keys spread.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeRollout } from '../../../shared/index.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import {
  startGatewayOverRegistry,
  type GatewayOverRegistry,
} from '../../helpers/gateway-over-replica.js';
import { waitFor } from '../../helpers/wait.js';
import { runningRollout } from '../../helpers/rollout-state.js';

const M = 'split';
let env: GatewayOverRegistry;
let clients: string[];

before(async () => {
  env = await startGatewayOverRegistry(
    async (s) => {
      for (const seed of [1, 2]) {
        await s.registry.addGeneration(M, {
          type: 'classifier',
          weights: mlpModel([4, 8, 3], seed),
        });
      }
      await s.registry.promote(M, 1);
    },
    (s) => s.app.fleet.host(M)?.gen === 1,
  );
  const { s } = env;
  const state = runningRollout(M, { canaryPercent: 50 });
  const w = await writeRollout(env.r.client(), s.keys, M, state, null);
  assert.notEqual(w, 'conflict');
  await waitFor(
    () =>
      s.app.rollout.views!.view(M).active?.canaryPercent === 50 && s.app.fleet.host(M)!.ready(2),
    { what: 'the replica in the canary step with generation 2 loaded', timeoutMs: 60_000 },
  );
  clients = [];
  for (let i = 0; i < 12; i++) {
    clients.push((await env.g.gw.ctx.tokens.create(`c${i}`, 'client')).token);
  }
});
after(() => env?.close());

const request = {
  model_name: M,
  inputs: [
    {
      name: 'x',
      datatype: 'FP32',
      shape: [1, 4],
      contents: { fp32_contents: [0.1, 0.2, 0.3, 0.4] },
    },
  ],
};
const answeredBy = async (token: string, metadata?: Record<string, string>) =>
  (await env.rpc.call<{ model_version: string }>('ModelInfer', request, token, metadata))
    .model_version;

test('one token keeps one generation over gRPC; tokens spread over both', async () => {
  const seen = new Set<string>();
  for (const token of clients) {
    const first = await answeredBy(token);
    for (let i = 0; i < 4; i++) assert.equal(await answeredBy(token), first, 'sticky per token');
    seen.add(first);
  }
  // 12 tokens at 50 %: all on one side has odds 2 in 4,096
  assert.deepEqual([...seen].sort(), ['1', '2']);
});

test("the client's x-request-key wins over its token, as over HTTP", async () => {
  const token = clients[0]!;
  const byKey = new Map<string, string>();
  for (let k = 0; k < 12; k++) {
    const key = `order-${k}`;
    const first = await answeredBy(token, { 'x-request-key': key });
    assert.equal(await answeredBy(token, { 'x-request-key': key }), first, 'sticky per key');
    byKey.set(key, first);
  }
  assert.deepEqual([...new Set(byKey.values())].sort(), ['1', '2']);
});
