import { z } from 'zod';
import type { Permission } from '../../../shared/index.js';

export type Method = 'get' | 'post' | 'put' | 'delete';

/** Error statuses a route declares beside those its declaration implies (see `impliedErrors`). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 502 | 503;

/**
 * A JSON configuration document: checked by the store that keeps it (schema, then its
 * internal references), which answers 400 with `details.issues[{path, message}]` and leaves
 * the running document as it was. One of `oneOf` applies, chosen by the route.
 */
export interface DocumentBody {
  document: readonly z.ZodType[];
}

/** A body that is not parsed as JSON here: streamed on, or read raw by the handler. */
export interface RawBody {
  /** content type → what is sent with it: a zod schema (documentation only) or JSON Schema */
  raw: Readonly<Record<string, z.ZodType | Readonly<Record<string, unknown>>>>;
}

export type BodySpec = z.ZodType | DocumentBody | RawBody;

/**
 * One route, declared once: the gateway mounts it from this (guard, validation, success
 * status) and the OpenAPI document is built from it, so the two cannot drift.
 */
export interface RouteSpec {
  method: Method;
  /** as express registers it: `/api/v1/models/:name`; every `:param` needs a `params` entry */
  path: string;
  /** what the token's role must grant; `public` needs no token */
  permission: Permission | 'public';
  tag: string;
  summary: string;
  description?: string;
  /** path parameters, validated before the handler runs */
  params?: z.ZodObject;
  /** query parameters, validated before the body is read */
  query?: z.ZodObject;
  /** a zod schema is a JSON body validated before the handler runs */
  body?: BodySpec;
  bodyExample?: unknown;
  /** success status @defaultValue 200 */
  status?: number;
  /** other success statuses the route can answer, with when */
  otherSuccess?: Readonly<Partial<Record<number, string>>>;
  /** the success answer's JSON (documentation; examples show it too) */
  response?: z.ZodType;
  responseExample?: unknown;
  /** content type of a non-JSON success answer */
  produces?: string;
  /** error statuses the handler can answer, with when (beyond `impliedErrors`) */
  errors?: Readonly<Partial<Record<ErrorStatus, string>>>;
  /**
   * `rest`: an express route, mounted with `mountRoute`. `inference`: forwarded to a serving
   * replica by the inference proxy, which validates nothing but the token; errors are the
   * protocols' `{error}` bodies. `probe`: a health probe. @defaultValue 'rest'
   */
  kind?: 'rest' | 'inference' | 'probe';
}

export const isZod = (b: unknown): b is z.ZodType =>
  typeof b === 'object' && b !== null && '_zod' in b;
export const isDocumentBody = (b: BodySpec | undefined): b is DocumentBody =>
  typeof b === 'object' && 'document' in b;
export const isRawBody = (b: BodySpec | undefined): b is RawBody =>
  typeof b === 'object' && 'raw' in b;

/** `:name` segments of an express path (`/v1/models/:model:predict` has only `model`). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\/:(\w+)/g)].map((m) => m[1]!);
}

/** `/api/v1/config/:kind` → `/api/v1/config/{kind}` */
export function openapiPath(expressPath: string): string {
  return expressPath.replace(/\/:(\w+)/g, '/{$1}');
}

/**
 * Declares a route. Throws at load time when the path's parameters and the `params` schema
 * disagree, so an undeclared parameter cannot reach a handler unvalidated.
 */
export function defineRoute<const S extends RouteSpec>(spec: S): S {
  const inPath = pathParams(spec.path).sort();
  const declared = Object.keys(spec.params?.shape ?? {}).sort();
  if (inPath.join() !== declared.join()) {
    throw new Error(
      `${spec.method.toUpperCase()} ${spec.path}: path parameters [${inPath.join()}] but params [${declared.join()}]`,
    );
  }
  return spec;
}

/** The schemas that name components in the OpenAPI document (`#/components/schemas/<id>`). */
export const apiComponents = z.registry<{ id: string }>();

/** Names a body or answer schema in the document; returns the same schema, so it validates the same. */
export function named<T extends z.ZodType>(id: string, schema: T): T {
  const existing = apiComponents.get(schema)?.id;
  if (existing !== undefined && existing !== id) {
    throw new Error(`schema already named ${existing}, not ${id}`);
  }
  apiComponents.add(schema, { id });
  return schema;
}

/** Statuses every route of a declaration can answer, whatever its handler does. */
export function impliedErrors(spec: RouteSpec): Partial<Record<ErrorStatus, string>> {
  const out: Partial<Record<ErrorStatus, string>> = {};
  // Only express routes are validated here; the proxy forwards inference requests as they are.
  if ((spec.kind ?? 'rest') === 'rest') {
    if (spec.params || spec.query || isZod(spec.body)) {
      out[400] = 'invalid input: `issues` lists `{path, message}` per problem';
    }
    if (isDocumentBody(spec.body)) {
      out[400] =
        'invalid document: `details.issues` lists `{path, message}` per problem, with the path inside the document; nothing is stored';
    }
    if (isZod(spec.body) || isDocumentBody(spec.body)) {
      out[400] = `${out[400]}; or malformed JSON`;
      out[413] = 'a JSON body over JSON_LIMIT';
      out[415] = 'an unsupported charset or content encoding';
    }
  }
  if (spec.permission !== 'public') {
    out[401] = 'missing, unknown or revoked token';
    out[403] = `the token's role does not grant ${spec.permission}`;
    out[429] = "over the token's rate limit; see Retry-After";
  }
  return out;
}

/** Implied and declared error statuses, merged (a declared reason adds to an implied one). */
export function errorStatuses(spec: RouteSpec): Map<ErrorStatus, string> {
  const implied = impliedErrors(spec);
  const out = new Map<ErrorStatus, string>();
  const all = new Set([...Object.keys(implied), ...Object.keys(spec.errors ?? {})].map(Number));
  for (const s of [...all].sort((a, b) => a - b) as ErrorStatus[]) {
    const text = [implied[s], spec.errors?.[s]].filter((x) => x !== undefined).join('; ');
    out.set(s, text);
  }
  return out;
}
