import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { registeredRoutes } from '../../../services/gateway/openapi/registered-routes.js';
import { openapiPath } from '../../../services/gateway/openapi/document.js';
import { ROUTES } from '../../../services/gateway/openapi/routes.js';

let r: TestRedis;
let g: TestGateway;
before(async () => {
  r = await startTestRedis();
  g = await startTestGateway(r);
});
after(async () => {
  await g.close();
  await r.stop();
});

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Record<string, any>>>;
  components: { schemas: Record<string, unknown> };
};

test('GET /api/v1/openapi.json needs no token and is an OpenAPI 3 document', async () => {
  const res = await fetch(`${g.url}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const doc = (await res.json()) as Doc;
  assert.match(doc.openapi, /^3\./);
  const put = doc.paths['/api/v1/config/{kind}']?.put;
  assert.ok(put, 'PUT /api/v1/config/{kind} documented');
  assert.equal(put['x-permission'], 'admin');
  assert.ok(put.requestBody.content['application/json'].example.rules, 'with an example');
  assert.deepEqual(
    put.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
    ['path:kind', 'query:ifVersion'],
  );
});

test('every express route under /api/v1 is in the document, and nothing else is', async () => {
  const doc = (await (await fetch(`${g.url}/api/v1/openapi.json`)).json()) as Doc;
  const registered = registeredRoutes(g.gw.express)
    .filter((x) => x.path.startsWith('/api/v1/'))
    .map((x) => `${x.method.toUpperCase()} ${openapiPath(x.path)}`);
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
  );
  assert.ok(registered.length >= 40, `only ${registered.length} routes found`);
  assert.deepEqual(
    registered.filter((x) => !documented.includes(x)),
    [],
    'routes missing from the OpenAPI document (add them to services/gateway/openapi/routes.ts)',
  );
  assert.deepEqual(
    documented.filter((x) => !registered.includes(x)),
    [],
    'documented routes that do not exist',
  );
});

test('bodies come from the zod schemas that validate them (refs resolve)', async () => {
  const doc = (await (await fetch(`${g.url}/api/v1/openapi.json`)).json()) as Doc;
  const text = JSON.stringify(doc);
  for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
    assert.ok(doc.components.schemas[m[1]!], `dangling $ref ${m[1]}`);
  }
  assert.ok(!text.includes('"#/$defs/'), 'no local $defs left');
  const delivery = doc.components.schemas.DeliveryConfig as {
    properties: Record<string, unknown>;
    additionalProperties: boolean;
  };
  assert.deepEqual(Object.keys(delivery.properties).sort(), ['channels', 'formatters', 'rules']);
  assert.equal(delivery.additionalProperties, false);
});

test('docs/api.md lists every route and links the document', () => {
  const md = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  assert.match(md, /\/api\/v1\/openapi\.json/);
  for (const route of ROUTES) {
    const line = `${route.method.toUpperCase()} ${openapiPath(route.path)}`;
    assert.ok(md.includes(line), `${line} missing from docs/api.md`);
  }
});
