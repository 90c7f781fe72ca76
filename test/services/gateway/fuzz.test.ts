import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { REST_ROUTES as ROUTES } from '../../../services/gateway/openapi/api-routes.js';
import { errorStatuses, type RouteSpec } from '../../../services/gateway/openapi/route-spec.js';
import { createPredictionCapture } from '../../../services/gateway/serving/prediction-capture.js';
import { createLogger, EventIngest, Keys, SessionStore } from '../../../shared/index.js';
import { waitFor } from '../../helpers/wait.js';

// CI replays one fixed seed, so that a red build points at a change in the code rather than
// at new dice; other runs explore new inputs. FUZZ_SEED reruns the seed a failure reports.
const seed = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : process.env.CI
    ? 20_261_127
    : Date.now() % 2 ** 31;
fc.configureGlobal({ seed });
console.log(`# fuzz seed ${seed} (FUZZ_SEED=${seed} to rerun)`);

let r: TestRedis;
let g: TestGateway;
let requests = 0;
const fiveHundreds: string[] = [];
/** A real session whose `:seq` key exists, so `<id>:seq` as an id would reach another key. */
let sessionId = '00000000-0000-4000-8000-000000000000';
const undocumented = new Set<string>();

/**
 * Notes an answer whose status the route's declaration does not list. The app's own 404 for
 * a path that (decoded, normalised) no longer names the route is not the route's answer.
 */
function checkDocumented(rt: RouteSpec, res: { status: number; body: unknown }): void {
  const ok = [rt.status ?? 200, ...Object.keys(rt.otherSuccess ?? {}).map(Number)];
  if (ok.includes(res.status) || errorStatuses(rt).has(res.status as never)) return;
  const message = (res.body as { message?: unknown } | null)?.message;
  if (res.status === 404 && typeof message === 'string' && message.startsWith('no route ')) return;
  undocumented.add(`${rt.method.toUpperCase()} ${rt.path} answered ${res.status}`);
}

before(async () => {
  r = await startTestRedis();
  g = await startTestGateway(r, {
    env: {
      INTAKE_URL: 'http://127.0.0.1:9',
      EVENT_HANDLER_URL: 'http://127.0.0.1:9',
      SERVING_UPSTREAM: 'http://127.0.0.1:9',
    },
  });
  const keys = new Keys(g.prefix);
  sessionId = (
    await new SessionStore(r.client(), keys).create({
      kind: 'train',
      request: { kind: 'train', model: 'fz', dataset: 'fuzzed@1' },
    })
  ).id;
  await new EventIngest(r.client(), keys).ingest(sessionId, 1, {
    kind: 'log',
    payload: { lines: ['fuzz'] },
  });
  // One HTTP source, so pushes reach the mapping code.
  await send('PUT', '/api/v1/config/sources', {
    json: {
      sources: [
        {
          id: 'fz',
          type: 'http',
          dataset: 'fuzzed',
          mapping: { format: 'json', features: ['a', 'b.c'], label: 'y' },
        },
      ],
    },
  });
  await waitFor(
    async () =>
      ((await send('GET', '/api/v1/sources', {})).body as { sources: unknown[] }).sources.length ===
      1,
    { what: 'the HTTP source applied' },
  );
});
after(async () => {
  await g.close();
  await r.stop();
});

/** Routes that forward to a service this test leaves down: 503 is the right answer there. */
const FORWARDS = [
  /^POST \/api\/v1\/datasets\/[^/]+$/,
  /^POST \/api\/v1\/sessions\/[^/]+\/stop$/,
  /^(GET|POST|DELETE) \/api\/v1\/serving/,
];

async function send(
  method: string,
  path: string,
  o: { json?: unknown; raw?: string; contentType?: string; token?: string | null },
): Promise<{ status: number; body: unknown }> {
  const token = o.token === undefined ? g.adminToken : o.token;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let body: string | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] = 'application/json';
  } else if (o.raw !== undefined) {
    body = o.raw;
    if (o.contentType) headers['content-type'] = o.contentType;
  }
  const res = await fetch(g.url + path, {
    method,
    headers,
    ...(body === undefined || method === 'GET' ? {} : { body }),
    signal: AbortSignal.timeout(10_000),
  });
  requests++;
  const text = await res.text();
  const key = `${method} ${path.split('?')[0]}`;
  if (res.status >= 500 && !(res.status === 503 && FORWARDS.some((f) => f.test(key)))) {
    fiveHundreds.push(`${key} → ${res.status} ${text.slice(0, 200)}`);
  }
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (binary rows, 204)
  }
  return { status: res.status, body: parsed };
}

const segment = fc.oneof(
  fc.constantFrom(
    'x',
    'latest',
    '1',
    '0',
    '-1',
    '9999999999999999999',
    'delivery',
    'rules',
    'sources',
    'fz',
    '..',
    '%2e%2e',
    '%00',
    'a@b',
    ' ',
    '%zz',
    // percent-escapes that are not UTF-8 (a URIError in decodeURIComponent)
    '%ff%fe',
    '%C0%AE%C0%AE',
    // ids that look like key suffixes or hash tags
    'a:b',
    '%7Bx%7D',
  ),
  fc.constant(null).map(() => `${sessionId}:seq`),
  fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent),
);
/** A body sent as this raw JSON text rather than stringified. */
class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text nested far past any sane document (a stack overflow in recursive code). */
const deepJson = fc
  .tuple(fc.integer({ min: 65, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => {
    const close = open === '[' ? ']' : '}';
    return open.repeat(depth) + '1' + close.repeat(depth);
  });

const query = fc.dictionary(
  fc.constantFrom(
    'limit',
    'offset',
    'ifVersion',
    'state',
    'start',
    'count',
    'split',
    'format',
    'force',
    'type',
    'promote',
    'metrics',
    'token',
    'x',
  ),
  fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.integer().map(String),
    fc.constantFrom('-1', 'NaN', '1e309', 'true', 'json'),
  ),
  { maxKeys: 3 },
);

test('random requests to every declared route never answer 5xx, nor a status it does not declare', async () => {
  const route = fc.constantFrom(...ROUTES);
  await fc.assert(
    fc.asyncProperty(
      route,
      fc.array(segment, { minLength: 4, maxLength: 4 }),
      query,
      fc.oneof(
        fc.constant(undefined),
        fc.jsonValue({ maxDepth: 3 }),
        deepJson.map((text) => new RawJson(text)),
      ),
      fc.constantFrom<string | null>(g.adminToken, null, 'smt_bogus'),
      async (rt, segs, q, body, token) => {
        let i = 0;
        const path = rt.path.replace(/:(\w+)/g, () => segs[i++] ?? 'x');
        const qs = new URLSearchParams(q).toString();
        const res = await send(
          rt.method.toUpperCase(),
          path + (qs ? `?${qs}` : ''),
          body instanceof RawJson
            ? { raw: body.text, contentType: 'application/json', token }
            : { json: body, token },
        );
        checkDocumented(rt, res);
      },
    ),
    { numRuns: 800 },
  );
  assert.deepEqual([...undocumented], [], 'statuses missing from the route declarations');
});

test('arbitrary JSON as any configuration document: 400 with paths, or stored', async () => {
  for (const kind of ['rules', 'delivery', 'sources']) {
    const version = async () =>
      ((await send('GET', `/api/v1/config/${kind}`, {})).body as { version: number }).version;
    let current = await version();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (doc) => {
        const res = await send('PUT', `/api/v1/config/${kind}`, { json: doc });
        assert.ok(res.status === 200 || res.status === 400, `${res.status}`);
        if (res.status === 200) current = (res.body as { version: number }).version;
        else {
          // JSON that is not an object or array stops at the body parser, without issues.
          const details = (res.body as { details?: { issues: { path: string }[] } }).details;
          if (doc !== null && typeof doc === 'object') assert.ok(details!.issues.length > 0);
        }
      }),
      { numRuns: 150 },
    );
    assert.equal(await version(), current, 'only accepted documents made versions');
  }
});

// Near-valid delivery documents: the shapes the schema expects, with wrong values mixed in.
const url = fc.constantFrom(
  'http://127.0.0.1:9/x',
  'https://h/x',
  'mqtt://127.0.0.1:9',
  'amqp://127.0.0.1:9',
  'ftp://x',
  'not a url',
  '',
);
const channel = fc.oneof(
  fc.record(
    {
      type: fc.constantFrom('webhook', 'mqtt', 'amqp', 'ws', 'smtp'),
      url,
      topic: fc.constantFrom('a/b', 'a/#', '', 'x'),
      routingKey: fc.constantFrom('q', ''),
      secret: fc.constantFrom('short', 'long-enough-secret'),
    },
    { requiredKeys: ['type'] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const pathish = fc.constantFrom(
  'model',
  'output.argmax',
  'outputs.p.max',
  'inputs.metadata.site',
  'output.best',
  'nope',
  '{{',
  'id',
);
const formatter = fc.oneof(
  fc.record({ type: fc.constant('json') }),
  fc.record(
    {
      type: fc.constant('csv'),
      columns: fc.array(pathish, { maxLength: 4 }),
      separator: fc.constantFrom(',', ';;', ''),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({
    type: fc.constant('template'),
    template: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      pathish.map((p) => ({ v: `{{${p}}}` })),
    ),
  }),
  fc.record({ type: fc.constant('plugin'), plugin: fc.constantFrom('influx-line', 'x') }),
);
const condition = fc.letrec((tie) => ({
  cond: fc.record(
    {
      topClassIn: fc.array(fc.oneof(fc.integer({ min: -2, max: 9 }), fc.double()), {
        maxLength: 3,
      }),
      maxScoreOver: fc.oneof(fc.double(), fc.string()),
      metadataEquals: fc.dictionary(
        fc.string({ maxLength: 4 }),
        fc.oneof(fc.string(), fc.integer(), fc.object()),
      ),
      any: fc.array(tie('cond'), { maxLength: 2 }),
      not: tie('cond'),
      plugin: fc.record({ name: fc.string({ maxLength: 5 }) }),
    },
    { requiredKeys: [] },
  ),
})).cond;
const ids = fc.constantFrom('a', 'b', 'c', 'bad id', '');
const deliveryDoc = fc.record(
  {
    channels: fc.dictionary(ids, channel, { maxKeys: 3 }),
    formatters: fc.dictionary(ids, formatter, { maxKeys: 3 }),
    rules: fc.array(
      fc.record(
        {
          id: ids,
          model: fc.constantFrom('*', 'm', ''),
          when: condition,
          sample: fc.double(),
          channel: ids,
          formatter: ids,
        },
        { requiredKeys: ['id', 'model', 'channel', 'formatter'] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

test('near-valid delivery documents: accepted whole or rejected with a path, never 5xx', async () => {
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(deliveryDoc, async (doc) => {
      const res = await send('PUT', '/api/v1/config/delivery', { json: doc });
      assert.ok(res.status === 200 || res.status === 400, `${res.status}`);
      if (res.status === 200) accepted++;
      else {
        const issues = (res.body as { details: { issues: { path: string }[] } }).details.issues;
        assert.ok(issues.every((i) => typeof i.path === 'string'));
      }
    }),
    { numRuns: 200 },
  );
  assert.ok(accepted > 0, 'some generated documents are valid, so the happy path is fuzzed too');
});

test('pushes to an HTTP source: any body is mapped or rejected, never 5xx', async () => {
  const bodies = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })),
    fc
      .array(
        fc.record(
          {
            a: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
            b: fc.record({ c: fc.oneof(fc.integer(), fc.constant('1.5')) }),
            y: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 3 }), fc.boolean()),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 5 },
      )
      .map((json) => ({ json })),
    fc.string({ maxLength: 200 }).map((raw) => ({ raw, contentType: 'text/csv' })),
    fc.string({ maxLength: 100 }).map((raw) => ({ raw, contentType: 'application/json' })),
  );
  await fc.assert(
    fc.asyncProperty(bodies, async (b) => {
      const res = await send('POST', '/api/v1/sources/fz/push', b);
      assert.ok(
        [200, 400, 404, 415].includes(res.status),
        `${res.status} ${JSON.stringify(res.body)}`,
      );
    }),
    { numRuns: 300 },
  );
});

test('malformed bodies and content types: 4xx, never 5xx', async () => {
  const posts = ROUTES.filter((x) => x.method !== 'get' && x.method !== 'delete');
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...posts),
      fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom('{', '{"a":', '[1,', 'null', '"x"', '\u0000', '{"__proto__":{"x":1}}'),
      ),
      fc.constantFrom(
        'application/json',
        'application/x-www-form-urlencoded',
        'text/plain',
        'application/vnd.x+json',
        'multipart/form-data',
      ),
      async (rt, raw, contentType) => {
        const path = rt.path.replace(/:(\w+)/g, (_m, p: string) =>
          p === 'kind' ? 'delivery' : 'fz',
        );
        checkDocumented(rt, await send(rt.method.toUpperCase(), path, { raw, contentType }));
      },
    ),
    { numRuns: 300 },
  );
  assert.deepEqual([...undocumented], [], 'statuses missing from the route declarations');
});

test('inference paths with percent-escapes that are not UTF-8: 400 from the gateway itself', async () => {
  const bad = fc.constantFrom('%ff', '%ff%fe', '%C0%AE%C0%AE', '%e0%80', '%ed%a0%80', 'a%80b');
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(
        (m: string) => ['POST', `/v2/models/${m}/infer`],
        (m: string) => ['POST', `/v2/models/${m}/versions/1/infer`],
        (m: string) => ['GET', `/v2/models/${m}/ready`],
        (m: string) => ['POST', `/v1/models/${m}:predict`],
        (m: string) => ['GET', `/v1/models/${m}/metadata`],
      ),
      bad,
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        deepJson.map((text) => new RawJson(text)),
      ),
      async (route, model, body) => {
        const [method, path] = route(model) as [string, string];
        const res = await send(
          method,
          path,
          body instanceof RawJson
            ? { raw: body.text, contentType: 'application/json' }
            : { json: body },
        );
        // The replicas are down here: only the gateway's own check can make this a 400.
        assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.equal((res.body as { code?: unknown }).code, 'BAD_INPUT');
      },
    ),
    { numRuns: 100 },
  );
});

test('prediction capture survives any bytes from a replica', async () => {
  const log = createLogger('fuzz', 'silent');
  let published = 0;
  const capture = createPredictionCapture({
    wants: () => true,
    publish: async () => void published++,
    log,
  });
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(
        '/v2/models/m/infer',
        '/v2/models/m/versions/3/infer',
        '/v1/models/m:predict',
        '/v2/models/%zz/infer',
      ),
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j))),
      ),
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j))),
        fc
          .array(
            fc.record({
              name: fc.string(),
              datatype: fc.constantFrom('FP32', 'BOOL', 'BYTES', 'INT64'),
              shape: fc.array(fc.nat(4)),
              data: fc.array(fc.oneof(fc.double(), fc.boolean(), fc.string())),
            }),
            { maxLength: 3 },
          )
          .map((outputs) => Buffer.from(JSON.stringify({ model_version: '2', outputs }))),
      ),
      fc.option(fc.nat(80)),
      async (path, req, res, headerLen) => {
        const headers =
          headerLen === null ? {} : { 'inference-header-content-length': String(headerLen) };
        assert.doesNotThrow(() => capture(path, req, res, headers));
        await new Promise((resolve) => setImmediate(resolve));
      },
    ),
    { numRuns: 400 },
  );
  assert.ok(published > 0);
});

test('after it all: no 5xx, the gateway still answers, 2,000+ cases run', async () => {
  assert.deepEqual(fiveHundreds.slice(0, 10), []);
  assert.equal((await send('GET', '/healthz', { token: null })).status, 200);
  assert.ok(requests >= 2000, `${requests} requests`);
  console.log(`# fuzz: ${requests} HTTP requests, 400 capture cases`);
});
