import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { inferenceApi } from '../../../services/gateway/openapi/protocol-routes.js';
import {
  errorStatuses,
  isRawBody,
  type RouteSpec,
} from '../../../services/gateway/openapi/route-spec.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import type { TestGateway } from '../../helpers/gateway.js';
import {
  startGatewayOverReplica,
  type GatewayOverReplica,
} from '../../helpers/gateway-over-replica.js';

// The inference routes are declared for the document only (the proxy forwards them as they
// come): each must answer its documented success through a gateway in front of a real
// replica, with its documented example, and its answer must fit the documented schema.
let env: GatewayOverReplica;
let g: TestGateway;
before(async () => {
  // Four inputs named x, like the documented examples.
  env = await startGatewayOverReplica(
    new InMemoryModelSource().put('mlp', 3, mlpModel([4, 8, 3]), { production: true }),
  );
  ({ g } = env);
});
after(() => env?.close());

const VALUES: Record<string, string> = { model: 'mlp', version: '3' };

test('every declared inference route answers its documented success through the gateway', async () => {
  const examples = {
    kserve: inferenceApi.v2Infer.bodyExample,
    tf: inferenceApi.tfPredict.bodyExample,
  };
  const routes: RouteSpec[] = Object.values(inferenceApi);
  assert.ok(routes.length >= 15, `${routes.length} inference routes`);
  for (const route of routes) {
    const path = route.path.replace(/\/:(\w+)/g, (_m, p: string) => `/${VALUES[p]}`);
    const example =
      route.method === 'post'
        ? path.startsWith('/v2')
          ? examples.kserve
          : examples.tf
        : undefined;
    const res = await fetch(g.url + path, {
      method: route.method.toUpperCase(),
      headers: {
        ...(route.permission === 'public' ? {} : { authorization: `Bearer ${g.adminToken}` }),
        ...(example === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(example === undefined ? {} : { body: JSON.stringify(example) }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as unknown;
    const name = `${route.method.toUpperCase()} ${route.path}`;
    assert.equal(res.status, route.status ?? 200, `${name}: ${JSON.stringify(body)}`);
    if (route.response) {
      const fits = route.response.safeParse(body);
      assert.ok(fits.success, `${name}: the answer fits the documented schema`);
    }
    if (route.method === 'post') {
      const json = isRawBody(route.body) ? route.body.raw['application/json'] : undefined;
      assert.ok(json && '_zod' in json, `${name}: the JSON request is a documented schema`);
      assert.ok((json as z.ZodType).safeParse(example).success, `${name}: its example fits it`);
    }
  }
});

test('an unknown model is the documented 404, in the protocol error shape', async () => {
  const res = await fetch(`${g.url}/v2/models/nope/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(inferenceApi.v2Infer.bodyExample),
  });
  assert.equal(res.status, 404);
  assert.ok(errorStatuses(inferenceApi.v2Infer).has(404));
  const body = (await res.json()) as { error?: unknown };
  assert.equal(typeof body.error, 'string');
});
