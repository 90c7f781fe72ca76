import { z } from 'zod';
import {
  CreateSessionRequest,
  DeadReplayRequest,
  type Permission,
  AppendBody,
  DataSourcesDoc,
  RulesDocument,
} from '../../../shared/index.js';
import { PutConfigQuery, HistoryQuery } from '../config/config-routes.js';
import { RowsQuery } from '../datasets/rows-response.js';
import { DeadListQuery } from '../delivery/delivery-routes.js';
import { DeliveryConfig } from '../delivery/delivery-document.js';
import { CreateTokenBody } from '../auth/token-routes.js';
import { RejectBody, UploadQuery } from '../models/model-routes.js';
import { ListSessionsQuery, PostEventBody } from '../sessions/session-routes.js';
import * as ex from './examples.js';

/** One documented route. `path` is written as express registers it (`:param`). */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  /** what the token's role must grant; `public` needs no token */
  permission: Permission | 'public';
  tag: string;
  summary: string;
  /**
   * JSON request body: its schema, or several (one of them); `json` when the route module
   * does not export its schema; `binary`/`text` for raw uploads
   */
  body?: z.ZodType | z.ZodType[] | 'json' | 'binary' | 'text';
  bodyExample?: unknown;
  query?: z.ZodObject;
  /** success status @defaultValue 200 */
  status?: number;
  response?: unknown;
  /** non-JSON success answer */
  produces?: string;
}

/** Named schemas: they appear under components.schemas and bodies refer to them. */
export const SCHEMAS: Record<string, z.ZodType> = {
  DeliveryConfig,
  DataSourcesDoc,
  RulesDocument,
  CreateTokenBody,
  CreateSessionRequest,
  PostEventBody,
  AppendBody,
  RejectBody,
  DeadReplayRequest,
};

/**
 * Every REST route under /api/v1, with the schemas that validate it. The OpenAPI document
 * is built from this table, and tests check it against the routes express really has and
 * against what each role gets, so the documentation cannot drift from the code.
 */
export const ROUTES: RouteDoc[] = [
  // ── tokens
  {
    method: 'get',
    path: '/api/v1/tokens',
    permission: 'admin',
    tag: 'tokens',
    summary: 'List API tokens (never the secrets)',
    response: ex.tokens,
  },
  {
    method: 'post',
    path: '/api/v1/tokens',
    permission: 'admin',
    tag: 'tokens',
    summary: 'Create a token; the secret is shown once',
    body: CreateTokenBody,
    bodyExample: { name: 'ci', role: 'operator', rateLimit: 50 },
    status: 201,
    response: ex.tokenCreated,
  },
  {
    method: 'delete',
    path: '/api/v1/tokens/:id',
    permission: 'admin',
    tag: 'tokens',
    summary: 'Revoke a token',
    status: 204,
  },
  {
    method: 'get',
    path: '/api/v1/whoami',
    permission: 'read',
    tag: 'tokens',
    summary: "The calling token's name and role",
    response: { name: 'ci', role: 'operator' },
  },
  // ── datasets
  {
    method: 'get',
    path: '/api/v1/datasets',
    permission: 'read',
    tag: 'datasets',
    summary: 'List datasets',
  },
  {
    method: 'post',
    path: '/api/v1/datasets/:name',
    permission: 'write',
    tag: 'datasets',
    summary: 'Upload a dataset file (libsvm, CSV, JSON lines, image archive) as a new version',
    body: 'binary',
    status: 201,
  },
  {
    method: 'post',
    path: '/api/v1/datasets/:name/append',
    permission: 'write',
    tag: 'datasets',
    summary: 'Append labelled samples as a new version',
    body: AppendBody,
    bodyExample: { rows: [{ features: [5.1, 3.5, 1.4, 0.2], label: 'setosa' }] },
    status: 201,
  },
  {
    method: 'get',
    path: '/api/v1/datasets/:name',
    permission: 'read',
    tag: 'datasets',
    summary: 'A dataset and its versions',
  },
  {
    method: 'get',
    path: '/api/v1/datasets/:name/versions/:v',
    permission: 'read',
    tag: 'datasets',
    summary: "A version's metadata and statistics (`latest` or a number)",
  },
  {
    method: 'delete',
    path: '/api/v1/datasets/:name/versions/:v',
    permission: 'write',
    tag: 'datasets',
    summary: 'Delete a version (force=true, admins only, even when models were trained on it)',
  },
  {
    method: 'get',
    path: '/api/v1/datasets/:name/versions/:v/rows',
    permission: 'read',
    tag: 'datasets',
    summary: 'Read a range of rows (binary shard layout, or JSON)',
    query: RowsQuery,
    produces: 'application/octet-stream',
  },
  // ── sessions
  {
    method: 'post',
    path: '/api/v1/sessions',
    permission: 'write',
    tag: 'sessions',
    summary: 'Start a training session',
    body: CreateSessionRequest,
    bodyExample: { kind: 'train', model: 'digits-mlp', dataset: 'digits@1', trainer: 'mlp' },
    status: 201,
  },
  {
    method: 'get',
    path: '/api/v1/sessions',
    permission: 'read',
    tag: 'sessions',
    summary: 'List sessions',
    query: ListSessionsQuery,
  },
  {
    method: 'get',
    path: '/api/v1/sessions/:id',
    permission: 'read',
    tag: 'sessions',
    summary: 'A session and its events',
  },
  {
    method: 'post',
    path: '/api/v1/sessions/:id/stop',
    permission: 'write',
    tag: 'sessions',
    summary: 'Stop a session',
  },
  {
    method: 'post',
    path: '/api/v1/sessions/:id/events',
    permission: 'write',
    tag: 'sessions',
    summary: "Post a worker's event (external trainers)",
    body: PostEventBody,
  },
  // ── models
  {
    method: 'get',
    path: '/api/v1/models',
    permission: 'read',
    tag: 'models',
    summary: 'List models',
  },
  {
    method: 'get',
    path: '/api/v1/models/:name',
    permission: 'read',
    tag: 'models',
    summary: 'A model and its generation tree',
  },
  {
    method: 'get',
    path: '/api/v1/models/:name/generations/:gen',
    permission: 'read',
    tag: 'models',
    summary: 'One generation: status, metrics, lineage',
  },
  {
    method: 'get',
    path: '/api/v1/models/:name/generations/:gen/onnx',
    permission: 'read',
    tag: 'models',
    summary: "Download a generation's ONNX file",
    produces: 'application/octet-stream',
  },
  {
    method: 'post',
    path: '/api/v1/models/:name/generations',
    permission: 'write',
    tag: 'models',
    summary: 'Upload an ONNX file as a new candidate generation (promote=true needs admin)',
    body: 'binary',
    query: UploadQuery,
    status: 201,
  },
  {
    method: 'post',
    path: '/api/v1/models/:name/generations/:gen/promote',
    permission: 'admin',
    tag: 'models',
    summary: 'Promote a generation to production',
  },
  {
    method: 'post',
    path: '/api/v1/models/:name/generations/:gen/reject',
    permission: 'admin',
    tag: 'models',
    summary: 'Reject a candidate generation',
    body: RejectBody,
  },
  {
    method: 'delete',
    path: '/api/v1/models/:name/generations/:gen',
    permission: 'admin',
    tag: 'models',
    summary: 'Delete a generation',
  },
  // ── cluster
  {
    method: 'get',
    path: '/api/v1/serving/stats',
    permission: 'read',
    tag: 'cluster',
    summary: 'Per-model serving figures (req/s, latency quantiles, batch sizes)',
  },
  {
    method: 'get',
    path: '/api/v1/serving',
    permission: 'read',
    tag: 'cluster',
    summary: 'Serving replicas and the models each one serves',
  },
  {
    method: 'post',
    path: '/api/v1/serving/assignment',
    permission: 'admin',
    tag: 'cluster',
    summary: 'Set which models the serving replicas load (`*`: all)',
    body: 'json',
    bodyExample: { models: ['digits', 'iris'] },
  },
  {
    method: 'delete',
    path: '/api/v1/serving/assignment/:model',
    permission: 'admin',
    tag: 'cluster',
    summary: 'Remove a model from the serving assignment',
  },
  {
    method: 'get',
    path: '/api/v1/cluster',
    permission: 'read',
    tag: 'cluster',
    summary: 'Processes, workers and swarm nodes',
  },
  // ── decision rules and live configuration
  {
    method: 'get',
    path: '/api/v1/rules',
    permission: 'read',
    tag: 'config',
    summary: "The event-listener's decision rules, with the defaults they resolve to",
  },
  {
    method: 'put',
    path: '/api/v1/rules',
    permission: 'admin',
    tag: 'config',
    summary: 'Replace the decision rules (same document as /api/v1/config/rules)',
    body: RulesDocument,
    bodyExample: ex.decisionRules,
    query: PutConfigQuery,
  },
  {
    method: 'get',
    path: '/api/v1/rules/history',
    permission: 'read',
    tag: 'config',
    summary: 'Stored versions of the decision rules',
    query: HistoryQuery,
  },
  {
    method: 'get',
    path: '/api/v1/config/:kind',
    permission: 'read',
    tag: 'config',
    summary:
      'A live configuration document: rules | delivery | sources (secrets masked below admin)',
    response: ex.configVersion,
  },
  {
    method: 'put',
    path: '/api/v1/config/:kind',
    permission: 'admin',
    tag: 'config',
    summary:
      'Validate and store a new version; applied by every gateway within a second. 400 lists {path, message} per problem',
    body: [DeliveryConfig, DataSourcesDoc, RulesDocument],
    bodyExample: ex.deliveryConfig,
    query: PutConfigQuery,
    response: { kind: 'delivery', version: 4 },
  },
  {
    method: 'get',
    path: '/api/v1/config/:kind/history',
    permission: 'read',
    tag: 'config',
    summary: 'Stored versions, newest first',
    query: HistoryQuery,
  },
  // ── delivery
  {
    method: 'get',
    path: '/api/v1/deliveries',
    permission: 'read',
    tag: 'delivery',
    summary: 'Applied delivery config version and queue counts',
    response: ex.deliveryStatus,
  },
  {
    method: 'get',
    path: '/api/v1/deliveries/dead',
    permission: 'write',
    tag: 'delivery',
    summary: 'Dead deliveries (retries exhausted), oldest first',
    query: DeadListQuery,
    response: ex.deadList,
  },
  {
    method: 'post',
    path: '/api/v1/deliveries/dead/replay',
    permission: 'admin',
    tag: 'delivery',
    summary: 'Send dead deliveries again, to the channel as configured now',
    body: DeadReplayRequest,
    bodyExample: { all: true },
    response: { replayed: ['d-42'], missing: [] },
  },
  // ── sources and plugins
  {
    method: 'get',
    path: '/api/v1/sources',
    permission: 'read',
    tag: 'sources',
    summary: 'Live sources: state and counters',
    response: ex.sourcesStatus,
  },
  {
    method: 'post',
    path: '/api/v1/sources/:id/push',
    permission: 'write',
    tag: 'sources',
    summary: 'Push samples to an HTTP source: a JSON object, a JSON array, or CSV lines (text/csv)',
    body: 'text',
    bodyExample: [{ temp: 21.5, load: { cpu: 0.4 }, state: 'ok' }],
    response: ex.pushResult,
  },
  {
    method: 'get',
    path: '/api/v1/plugins',
    permission: 'read',
    tag: 'sources',
    summary: 'Loaded plugins (formatters, rules, sources)',
  },
  // ── this document
  {
    method: 'get',
    path: '/api/v1/openapi.json',
    permission: 'public',
    tag: 'meta',
    summary: 'This OpenAPI document',
  },
];
