import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DatasetUploadQuery } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { registeredRoutes } from '../../../services/gateway/openapi/registered-routes.js';
import { API_ROUTES, REST_ROUTES } from '../../../services/gateway/openapi/api-routes.js';
import { openapiPath } from '../../../services/gateway/openapi/route-spec.js';
import { renderRouteTables } from '../../../services/gateway/openapi/route-tables.js';

let r: TestRedis;
let g: TestGateway;
let doc: Doc;
before(async () => {
  r = await startTestRedis();
  // Nothing listens on the intake, handler and serving ports: a request that got past
  // validation to them would answer 503, not 400.
  g = await startTestGateway(r, {
    env: {
      INTAKE_URL: 'http://127.0.0.1:9',
      EVENT_HANDLER_URL: 'http://127.0.0.1:9',
      SERVING_UPSTREAM: 'http://127.0.0.1:9',
      JSON_LIMIT: '4kb',
      UPLOAD_LIMIT_BYTES: String(64 * 1024),
    },
  });
  const res = await fetch(`${g.url}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as Doc;
});
after(async () => {
  await g.close();
  await r.stop();
});

interface Param {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Record<string, any>;
}
interface Operation {
  operationId: string;
  'x-permission': string;
  parameters: Param[];
  requestBody?: { content: Record<string, { schema?: any; example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, any> }>;
}
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, any> };
};

const op = (method: string, path: string): Operation => {
  const found = doc.paths[path]?.[method];
  assert.ok(found, `${method.toUpperCase()} ${path} is documented`);
  return found;
};
const statuses = (o: Operation) => Object.keys(o.responses).map(Number);

async function send(
  method: string,
  path: string,
  init: { body?: string | Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(g.url + path, {
    method: method.toUpperCase(),
    headers: { authorization: `Bearer ${g.adminToken}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body };
}

test('GET /api/v1/openapi.json needs no token and is an OpenAPI 3.1 document', async () => {
  const res = await fetch(`${g.url}/api/v1/openapi.json`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(doc.openapi, '3.1.0');
  const put = op('put', '/api/v1/config/{kind}');
  // operators write delivery and sources; the handler asks admin for rules (roles-matrix.test.ts)
  assert.equal(put['x-permission'], 'write');
  assert.ok((put.requestBody!.content['application/json']!.example as any).rules, 'an example');
  assert.deepEqual(
    put.parameters.map((p) => `${p.in}:${p.name}`),
    ['path:kind', 'query:ifVersion'],
  );
  assert.deepEqual(
    put.requestBody!.content['application/json']!.schema.oneOf.map((s: any) => s.$ref),
    ['DeliveryConfig', 'DataSourcesDoc', 'RulesDocument'].map((n) => `#/components/schemas/${n}`),
  );
});

test('every express route is in the document with its method, mounted from the declaration the document shows', () => {
  const registered = registeredRoutes(g.gw.express);
  assert.ok(registered.length >= 40, `only ${registered.length} routes found`);
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    ),
  );
  const key = (x: { method: string; path: string }) =>
    `${x.method.toUpperCase()} ${openapiPath(x.path)}`;
  assert.deepEqual(
    registered.filter((x) => !documented.has(key(x))).map(key),
    [],
    'express routes missing from the document',
  );
  // Under /api/v1 each route is mounted from its declaration: the very object the document
  // is built from, so the validation that runs is the one documented.
  const handMounted = registered.filter(
    (x) => x.path.startsWith('/api/v1/') && !(x.spec && API_ROUTES.includes(x.spec)),
  );
  assert.deepEqual(handMounted.map(key), [], 'routes mounted without a declaration');
  for (const x of registered) {
    if (x.spec) assert.equal(key(x.spec), key(x), 'a declaration is mounted at its own path');
  }
  const mounted = new Set(registered.map((x) => x.spec));
  assert.deepEqual(
    REST_ROUTES.filter((s) => !mounted.has(s)).map(key),
    [],
    'declared routes that are not mounted',
  );
});

test('the dataset upload lists every query parameter the intake reads, and 413/415', () => {
  const upload = op('post', '/api/v1/datasets/{name}');
  const query = upload.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  for (const name of ['labelColumn', 'header', 'skipLines', 'delimiter', 'columns', 'format']) {
    assert.ok(query.includes(name), `${name} documented`);
  }
  assert.deepEqual(query.sort(), Object.keys(DatasetUploadQuery.shape).sort());
  const skipLines = upload.parameters.find((p) => p.name === 'skipLines')!;
  assert.equal(skipLines.schema.type, 'integer');
  assert.match(String((skipLines as any).description), /lines/);
  assert.ok(statuses(upload).includes(413) && statuses(upload).includes(415));
  assert.ok(upload.requestBody!.content['application/octet-stream']);
});

test('413 and 415 are documented where the gateway answers them', async () => {
  // JSON sent where a file is streamed on: the gateway's own 415.
  const asJson = await send('post', '/api/v1/datasets/t1', {
    body: '{"features":[1],"label":0}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(asJson.status, 415);
  assert.ok(statuses(op('post', '/api/v1/datasets/{name}')).includes(415));
  const tooBig = await send('post', '/api/v1/datasets/t1', {
    body: new Uint8Array(65 * 1024),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(tooBig.status, 413);
  const model = await send('post', '/api/v1/models/m1/generations', {
    body: new Uint8Array(65 * 1024),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(model.status, 413);
  assert.ok(statuses(op('post', '/api/v1/models/{name}/generations')).includes(413));
  // Every route with a JSON body answers 413 past JSON_LIMIT, and says so.
  const big = JSON.stringify({ name: 'x'.repeat(5000) });
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, o] of Object.entries(ops)) {
      const json = o.requestBody?.content['application/json'];
      if (!json || !path.startsWith('/api/v1/')) continue;
      const res = await send(method, fill(path), {
        body: big,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 413, `${method} ${path}`);
      assert.ok(statuses(o).includes(413), `${method} ${path} documents 413`);
    }
  }
  const charset = await send('post', '/api/v1/tokens', {
    body: '{}',
    headers: { 'content-type': 'application/json; charset=latin-9' },
  });
  assert.equal(charset.status, 415);
  assert.ok(statuses(op('post', '/api/v1/tokens')).includes(415));
});

test('the inference protocols are declared: KServe v2 and TF Serving, with their statuses', () => {
  for (const [method, path] of [
    ['post', '/v2/models/{model}/infer'],
    ['post', '/v2/models/{model}/versions/{version}/infer'],
    ['get', '/v2/models/{model}'],
    ['get', '/v2/health/ready'],
    ['post', '/v1/models/{model}:predict'],
    ['post', '/v1/models/{model}/versions/{version}:predict'],
    ['get', '/v1/models/{model}/metadata'],
  ] as const) {
    const o = op(method, path);
    for (const s of method === 'post' ? [200, 400, 404, 413, 503] : [200, 503]) {
      assert.ok(statuses(o).includes(s), `${method} ${path} documents ${s}`);
    }
  }
  const infer = op('post', '/v2/models/{model}/infer');
  assert.equal(infer['x-permission'], 'predict');
  assert.equal(
    infer.requestBody!.content['application/json']!.schema.$ref,
    '#/components/schemas/KServeInferRequest',
  );
  assert.equal(
    infer.responses['404']!.content!['application/json'].schema.$ref,
    '#/components/schemas/InferenceError',
  );
  assert.ok(doc.components.schemas.KServeInferRequest.properties.inputs);
});

test('schemas are the zod schemas that validate, and every $ref resolves', () => {
  const text = JSON.stringify(doc);
  for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
    assert.ok(doc.components.schemas[m[1]!], `dangling $ref ${m[1]}`);
  }
  assert.ok(!text.includes('"#/$defs/'), 'no local $defs left');
  assert.ok(!text.includes('__shared'), 'no shared-defs placeholder left');
  const delivery = doc.components.schemas.DeliveryConfig;
  assert.deepEqual(Object.keys(delivery.properties).sort(), ['channels', 'formatters', 'rules']);
  assert.equal(delivery.additionalProperties, false);
  // Inputs as sent (defaults optional), answers as received.
  assert.deepEqual(doc.components.schemas.CreateTokenBody.required, ['name', 'role']);
  const created = op('post', '/api/v1/tokens').responses['201']!.content!['application/json'];
  assert.ok(created.schema.$ref && created.example, 'answer schema and example');
});

// Valid values for path parameters: the 400 then comes from the one input made invalid.
const VALID: Record<string, string> = { kind: 'delivery', v: '1', gen: '1' };
const fill = (path: string, override: Record<string, string> = {}) =>
  path.replace(/\{(\w+)\}/g, (_m, p: string) => override[p] ?? VALID[p] ?? 't1');

/** A value the parameter's schema refuses, or undefined when it takes any string. */
function invalid(schema: Record<string, any>): string | undefined {
  if (schema.type === 'integer' || schema.type === 'number') return 'not-a-number';
  if (Array.isArray(schema.enum)) return 'not-in-the-enum';
  if (schema.pattern) return '!';
  if (typeof schema.maxLength === 'number') return 'x'.repeat(schema.maxLength + 1);
  return undefined;
}

test('a request the schema rejects gets the 400 the document promises, naming the input', async () => {
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/v1/')) continue;
    for (const [method, o] of Object.entries(ops)) {
      const bad: { what: string; url: string; body?: string; issue?: string }[] = [];
      for (const p of o.parameters) {
        const value = invalid(p.schema);
        if (value === undefined) continue;
        const url =
          p.in === 'path'
            ? fill(path, { [p.name]: encodeURIComponent(value) })
            : `${fill(path)}?${p.name}=${encodeURIComponent(value)}`;
        bad.push({ what: `${p.in} ${p.name}`, url, issue: p.name });
      }
      const json = o.requestBody?.content['application/json'];
      if (json?.schema?.$ref || json?.schema?.oneOf) {
        bad.push({ what: 'body', url: fill(path), body: '[1]' });
      }
      for (const b of bad) {
        const res = await send(method, b.url, {
          ...(b.body === undefined
            ? {}
            : { body: b.body, headers: { 'content-type': 'application/json' } }),
        });
        const where = `${method.toUpperCase()} ${path} with a bad ${b.what}`;
        assert.equal(res.status, 400, `${where}: ${JSON.stringify(res.body)}`);
        assert.ok(statuses(o).includes(400), `${where}: 400 documented`);
        assert.equal(res.body.error, 'BAD_INPUT', where);
        const issues: { path: string }[] = res.body.issues ?? res.body.details?.issues ?? [];
        assert.ok(issues.length > 0, `${where}: issues listed`);
        if (b.issue)
          assert.ok(
            issues.some((i) => i.path === b.issue),
            `${where}: names it`,
          );
        checked++;
      }
    }
  }
  assert.ok(checked >= 30, `only ${checked} invalid requests tried`);
});

test('docs/api.md carries the route tables rendered from the declarations', () => {
  const md = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  assert.match(md, /\/api\/v1\/openapi\.json/);
  const begin = '<!-- routes: generated by scripts/gen-api-docs.mjs -->';
  const end = '<!-- /routes -->';
  const section = md.slice(md.indexOf(begin) + begin.length, md.indexOf(end)).trim();
  assert.ok(md.includes(begin) && md.includes(end), 'markers present');
  assert.equal(
    section,
    renderRouteTables(API_ROUTES).trim(),
    'docs/api.md is stale: run npx tsx scripts/gen-api-docs.mjs',
  );
});
