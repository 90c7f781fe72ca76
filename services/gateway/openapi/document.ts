import { z } from 'zod';
import { API_ROUTES } from './api-routes.js';
import {
  apiComponents,
  errorStatuses,
  isDocumentBody,
  isRawBody,
  isZod,
  openapiPath,
  type RouteSpec,
} from './route-spec.js';

export { openapiPath } from './route-spec.js';

type Json = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** `get` `/api/v1/config/:kind` → `getApiV1ConfigKind` */
export function operationId(r: RouteSpec): string {
  const camel = r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? '').toUpperCase());
  return `${r.method}${camel}`;
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

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
    ref === '#' ? `${COMPONENTS}${name}` : ref.replace(/^#\/\$defs\//, `${COMPONENTS}${name}.`);
  for (const [k, d] of Object.entries(defs)) components[`${name}.${k}`] = rewriteRefs(d, target);
  return rewriteRefs(schema, target) as Json;
}

function rewriteRefs(v: unknown, target: (ref: string) => string): unknown {
  if (Array.isArray(v)) return v.map((x) => rewriteRefs(x, target));
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      k === '$ref' && typeof x === 'string' ? target(x) : rewriteRefs(x, target),
    ]),
  );
}

const TO_JSON = { unrepresentable: 'any', cycles: 'ref', reused: 'inline' } as const;

/** One schema alone (parameters): what a client sends. */
function inputSchema(s: z.ZodType, owner: string, components: Json): Json {
  return hoist(owner, z.toJSONSchema(s, { ...TO_JSON, io: 'input' }), components);
}

/**
 * The bodies (as sent: defaults optional) or the answers (as received) of every route, in one
 * pass, so that a named schema used inside another becomes a `$ref` to its component. A
 * schema without a name is named after its operation (`PostApiV1TokensBody`).
 */
class SchemaSet {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<z.ZodType, string>();

  constructor(private readonly suffix: '' | 'Answer') {}

  add(s: z.ZodType, fallback: string): void {
    if (this.ids.has(s)) return;
    const named = apiComponents.get(s)?.id;
    const id = named === undefined ? fallback : `${named}${this.suffix}`;
    this.ids.set(s, id);
    this.registry.add(s, { id });
  }

  ref(s: z.ZodType): Json {
    return { $ref: `${COMPONENTS}${this.ids.get(s)!}` };
  }

  /** Converts every schema added into `components`. */
  emit(io: 'input' | 'output', components: Json): void {
    const out = z.toJSONSchema(this.registry, {
      ...TO_JSON,
      io,
      uri: (id) => `${COMPONENTS}${id}`,
    }) as { schemas: Record<string, Json> };
    // Shared pieces (cycles) come as `<uri of __shared>#/$defs/x`: give them components of their own.
    const prefix = `Shared${this.suffix}.`;
    const shared = `${COMPONENTS}__shared#/$defs/`;
    const target = (ref: string) =>
      ref.startsWith(shared) ? `${COMPONENTS}${prefix}${ref.slice(shared.length)}` : ref;
    const { __shared, ...schemas } = out.schemas;
    const sharedDefs = (__shared?.$defs ?? {}) as Record<string, Json>;
    for (const [k, d] of Object.entries(sharedDefs))
      components[`${prefix}${k}`] = rewriteRefs(d, target);
    for (const [id, schema] of Object.entries(schemas)) {
      const { $schema: _drop, $id: _id, ...rest } = schema;
      components[id] = rewriteRefs(rest, target);
    }
  }
}

function parameters(r: RouteSpec, components: Json): Json[] {
  const out: Json[] = [];
  const add = (schema: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!schema) return;
    const json = inputSchema(schema, `${pascal(operationId(r))}.${where}`, components);
    const props = (json.properties ?? {}) as Record<string, Json>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) {
      const { description, ...rest } = s;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  };
  add(r.params, 'path');
  add(r.query, 'query');
  return out;
}

function requestBody(r: RouteSpec, bodies: SchemaSet): Json | undefined {
  const b = r.body;
  if (!b) return undefined;
  const example = r.bodyExample === undefined ? {} : { example: r.bodyExample };
  if (isZod(b)) {
    return {
      required: true,
      content: { 'application/json': { schema: bodies.ref(b), ...example } },
    };
  }
  if (isDocumentBody(b)) {
    const schema =
      b.document.length === 1
        ? bodies.ref(b.document[0]!)
        : { oneOf: b.document.map((d) => bodies.ref(d)) };
    return { required: true, content: { 'application/json': { schema, ...example } } };
  }
  const content: Json = {};
  for (const [type, s] of Object.entries(b.raw)) {
    content[type] = {
      schema: isZod(s) ? bodies.ref(s) : s,
      ...(type === 'application/json' ? example : {}),
    };
  }
  return { required: true, content };
}

function responses(r: RouteSpec, answers: SchemaSet): Json {
  const status = String(r.status ?? 200);
  const json: Json = {
    ...(r.response ? { schema: answers.ref(r.response) } : {}),
    ...(r.responseExample === undefined ? {} : { example: r.responseExample }),
  };
  const ok: Json =
    status === '204'
      ? { description: 'done, no content' }
      : {
          description: 'success',
          content: r.produces
            ? {
                [r.produces]: { schema: { type: 'string', format: 'binary' } },
                'application/json': {},
              }
            : { 'application/json': json },
        };
  const error = `${COMPONENTS}${r.kind === 'inference' ? 'InferenceError' : 'Error'}`;
  const out: Json = { [status]: ok };
  for (const [s, when] of Object.entries(r.otherSuccess ?? {})) {
    out[s] = { description: when, content: { 'application/json': json } };
  }
  for (const [s, when] of errorStatuses(r)) {
    out[String(s)] = {
      description: when,
      content: { 'application/json': { schema: { $ref: error } } },
    };
  }
  return out;
}

const ERROR_SCHEMAS: Json = {
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
        description: 'where the input is wrong (400 BAD_INPUT)',
        items: {
          type: 'object',
          properties: { path: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  InferenceError: {
    type: 'object',
    required: ['error'],
    description: 'the error body of the KServe v2 and TF Serving protocols',
    properties: { error: { type: 'string' }, code: { type: 'string' } },
  },
};

/** The OpenAPI 3.1 document of the gateway, built from the route declarations and their zod schemas. */
export function buildOpenApi(version = '0.1.0', routes: readonly RouteSpec[] = API_ROUTES): Json {
  const components: Json = { ...ERROR_SCHEMAS };
  const bodies = new SchemaSet('');
  const answers = new SchemaSet('Answer');
  for (const r of routes) {
    const name = pascal(operationId(r));
    if (isZod(r.body)) bodies.add(r.body, `${name}Body`);
    if (isDocumentBody(r.body)) r.body.document.forEach((d, i) => bodies.add(d, `${name}Body${i}`));
    if (isRawBody(r.body)) {
      for (const s of Object.values(r.body.raw)) if (isZod(s)) bodies.add(s, `${name}Body`);
    }
    if (r.response) answers.add(r.response, `${name}Answer`);
  }
  bodies.emit('input', components);
  answers.emit('output', components);

  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const body = requestBody(r, bodies);
    const op: Json = {
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      operationId: operationId(r),
      'x-permission': r.permission,
      security: r.permission === 'public' ? [] : [{ bearer: [] }],
      parameters: parameters(r, components),
      ...(body ? { requestBody: body } : {}),
      responses: responses(r, answers),
    };
    (paths[openapiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'swarmml REST API',
      version,
      description:
        'The swarmml gateway. Roles: viewer (read), client (read, predict), ' +
        'operator (read, predict, write: datasets, models, sessions), admin (everything). ' +
        'Management under /api/v1; inference in the KServe v2 (/v2/...) and TF Serving ' +
        '(/v1/models/...) protocols; live events and predictions on the WebSocket /api/v1/ws. ' +
        'See docs/api.md.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token' } },
      schemas: components,
    },
    paths,
  };
}
