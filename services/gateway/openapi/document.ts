import { z } from 'zod';
import { ROUTES, SCHEMAS, type RouteDoc } from './routes.js';

type Json = Record<string, unknown>;

/** `/api/v1/config/:kind` → `/api/v1/config/{kind}` */
export function openapiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

/**
 * Moves a schema's local `$defs` under components.schemas (prefixed with its owner's name)
 * and points its references there: an inline schema's `#/$defs/x` would otherwise resolve
 * against the whole OpenAPI document.
 */
function hoist(name: string, schema: Json, components: Json): Json {
  const defs = (schema.$defs ?? {}) as Record<string, Json>;
  delete schema.$defs;
  delete schema.$schema;
  const target = (ref: string) =>
    ref === '#'
      ? `#/components/schemas/${name}`
      : ref.replace(/^#\/\$defs\//, `#/components/schemas/${name}.`);
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (!v || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [
        k,
        k === '$ref' && typeof x === 'string' ? target(x) : rewrite(x),
      ]),
    );
  };
  for (const [k, d] of Object.entries(defs)) components[`${name}.${k}`] = rewrite(d);
  return rewrite(schema) as Json;
}

function jsonSchema(s: z.ZodType): Json {
  // Input shape: what a client sends (defaults optional). Transforms cannot be described.
  return z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
}

function schemaRef(s: z.ZodType, components: Json): Json {
  const name = Object.entries(SCHEMAS).find(([, v]) => v === s)?.[0];
  if (!name) return hoist(`Inline${Object.keys(components).length}`, jsonSchema(s), components);
  if (!components[name]) components[name] = hoist(name, jsonSchema(s), components);
  return { $ref: `#/components/schemas/${name}` };
}

function parameters(r: RouteDoc, components: Json): Json[] {
  const params: Json[] = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (r.query) {
    const q = hoist('Query', jsonSchema(r.query), components);
    const props = (q.properties ?? {}) as Record<string, Json>;
    const required = new Set((q.required ?? []) as string[]);
    for (const [name, schema] of Object.entries(props)) {
      params.push({
        name,
        in: 'query',
        required: required.has(name),
        schema,
        ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
      });
    }
  }
  return params;
}

function requestBody(r: RouteDoc, components: Json): Json | undefined {
  if (!r.body) return undefined;
  const example = r.bodyExample === undefined ? {} : { example: r.bodyExample };
  if (r.body === 'binary') {
    return {
      required: true,
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    };
  }
  if (r.body === 'json') {
    return {
      required: true,
      content: { 'application/json': { schema: { type: 'object' }, ...example } },
    };
  }
  if (Array.isArray(r.body)) {
    const oneOf = r.body.map((b) => schemaRef(b, components));
    return { required: true, content: { 'application/json': { schema: { oneOf }, ...example } } };
  }
  if (r.body === 'text') {
    return {
      required: true,
      content: {
        'application/json': { schema: {}, ...example },
        'text/csv': { schema: { type: 'string' }, example: '5.1,3.5,1.4,0.2,setosa\n' },
      },
    };
  }
  return {
    required: true,
    content: { 'application/json': { schema: schemaRef(r.body, components), ...example } },
  };
}

const ERROR = { $ref: '#/components/schemas/Error' };

function responses(r: RouteDoc): Json {
  const status = String(r.status ?? 200);
  const ok: Json =
    status === '204'
      ? { description: 'done' }
      : {
          description: 'success',
          content: r.produces
            ? {
                [r.produces]: { schema: { type: 'string', format: 'binary' } },
                'application/json': {},
              }
            : { 'application/json': r.response === undefined ? {} : { example: r.response } },
        };
  const err = (description: string) => ({
    description,
    content: { 'application/json': { schema: ERROR } },
  });
  return {
    [status]: ok,
    ...(r.body || r.query
      ? { '400': err('invalid input: `issues` or `details.issues` list `{path, message}`') }
      : {}),
    ...(r.permission === 'public'
      ? {}
      : {
          '401': err('missing or unknown token'),
          '403': err(`the role does not grant ${r.permission}`),
          '429': err('rate limit exceeded; see Retry-After'),
        }),
    ...(r.path.includes(':') ? { '404': err('no such item') } : {}),
  };
}

/** The OpenAPI 3.1 document of the REST API, built from the route table and its zod schemas. */
export function buildOpenApi(version = '0.1.0'): Json {
  const components: Json = {
    Error: {
      type: 'object',
      required: ['error', 'message'],
      properties: {
        error: {
          type: 'string',
          description: 'stable code: BAD_INPUT, NOT_FOUND, ... (docs/errors.md)',
        },
        message: { type: 'string' },
        details: {},
        issues: {
          type: 'array',
          items: {
            type: 'object',
            properties: { path: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  };
  for (const s of Object.values(SCHEMAS)) schemaRef(s, components);
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    const op: Json = {
      tags: [r.tag],
      summary: r.summary,
      operationId: `${r.method}${openapiPath(r.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase())}`,
      'x-permission': r.permission,
      security: r.permission === 'public' ? [] : [{ bearer: [] }],
      parameters: parameters(r, components),
      ...(requestBody(r, components) ? { requestBody: requestBody(r, components) } : {}),
      responses: responses(r),
    };
    (paths[openapiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'swarmml REST API',
      version,
      description:
        'Management API of the swarmml comm gateway. Roles: viewer (read), client (read, predict), ' +
        'operator (read, predict, write: datasets, models, sessions), admin (everything). ' +
        'Inference uses the KServe v2 (/v2/...) and TF Serving (/v1/models/...) protocols; ' +
        'live events and predictions on the WebSocket /api/v1/ws. See docs/api.md.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token' } },
      schemas: components,
    },
    paths,
  };
}
