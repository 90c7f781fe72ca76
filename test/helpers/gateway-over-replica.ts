/**
 * A real gateway in front of one real serving replica, as the gateway's protocol tests need
 * it: the replica serves an in-memory source, or the Redis registry under the gateway's key
 * prefix (then a gRPC listener and client come with it).
 */
import type { ModelSource } from '../../services/serving/hosting/model-source.js';
import { startServing, type Serving } from '../services/serving/harness.js';
import {
  startRegistryServing,
  type RegistryServing,
} from '../services/serving/registry-serving.js';
import { startTestGateway, type TestGateway } from './gateway.js';
import { inferenceClient, type InferenceClient } from './grpc-client.js';
import { startTestRedis, type TestRedis } from './redis.js';
import { waitFor } from './wait.js';

export interface GatewayOverReplica {
  r: TestRedis;
  s: Serving;
  g: TestGateway;
  close(): Promise<void>;
}

/** The replica serves `source`; resolves once the gateway reports it ready. */
export async function startGatewayOverReplica(source: ModelSource): Promise<GatewayOverReplica> {
  const r = await startTestRedis();
  const s = await startServing(source);
  const g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url } });
  await waitFor(async () => (await fetch(`${g.url}/v2/health/ready`)).status === 200, {
    what: 'the replica ready through the gateway',
  });
  return {
    r,
    s,
    g,
    async close() {
      await g.close();
      await s.stop();
      await r.stop();
    },
  };
}

export interface GatewayOverRegistry {
  r: TestRedis;
  s: RegistryServing;
  g: TestGateway;
  rpc: InferenceClient;
  close(): Promise<void>;
}

/**
 * The replica serves the registry; `seed` adds generations to it (and `seeded` says when the
 * replica has them live) before the gateway and its gRPC listener start.
 */
export async function startGatewayOverRegistry(
  seed: (s: RegistryServing) => Promise<void>,
  seeded: (s: RegistryServing) => boolean,
): Promise<GatewayOverRegistry> {
  const r = await startTestRedis();
  const prefix = r.prefix();
  const s = await startRegistryServing(r, prefix);
  await seed(s);
  await waitFor(() => seeded(s), { what: 'the seeded models live', timeoutMs: 60_000 });
  // the replica's registry and assignment are under the same key prefix as the gateway's
  const g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url, SWARMML_PREFIX: prefix } });
  const port = await g.gw.grpc.listen(0, '127.0.0.1');
  const rpc = inferenceClient(`127.0.0.1:${port}`);
  return {
    r,
    s,
    g,
    rpc,
    async close() {
      rpc.close();
      await g.close();
      await s.stop();
      await r.stop();
    },
  };
}
