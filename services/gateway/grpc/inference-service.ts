/**
 * The handlers of `inference.GRPCInferenceService`. Each checks the `authorization: Bearer`
 * metadata with the HTTP routes' authenticator and role, then maps to the serving replicas'
 * KServe v2 / Triton HTTP routes (ModelInfer as a binary-tensor request), or to the
 * assignment for the repository RPCs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  status,
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  CLIENT_KEY_HEADER,
  REQUEST_KEY_HEADER,
  type Logger,
  type Permission,
} from '../../../shared/index.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { Authenticator } from '../http/authenticate.js';
import { fromHttpInfer, toHttpInfer } from './infer-codec.js';
import type {
  ModelInferRequest,
  ModelRef,
  RepositoryIndexRequest,
  RepositoryModelRequest,
} from './messages.js';
import { fleetStatistics } from './model-statistics.js';
import type { ReplicaHttp } from './replica-http.js';
import { loadModel, repositoryIndex, unloadModel, type RepositoryDeps } from './repository.js';
import { fromGrpcParams, repositoryParams } from './repository-params.js';
import { SERVER_METADATA } from '../serving/server-metadata.js';
import { GrpcStatusError, ReplicaError, toServiceError } from './status.js';

export interface InferenceServiceDeps {
  auth: Authenticator;
  replicas: ReplicaHttp;
  repository: RepositoryDeps;
  log: Logger;
  /** the delivery rules' hook, as the HTTP inference proxy calls it */
  wantsPrediction?: (path: string) => boolean;
  onPrediction?: (
    path: string,
    request: Buffer,
    response: Buffer,
    headers: IncomingHttpHeaders,
  ) => void;
}

/** `/v2/models/<m>[/versions/<v>]<suffix>`; the name is required. */
function modelPath(ref: ModelRef, suffix = ''): string {
  if (!ref.name) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'name is required');
  const version = ref.version ? `/versions/${encodeURIComponent(ref.version)}` : '';
  return `/v2/models/${encodeURIComponent(ref.name)}${version}${suffix}`;
}

function authorization(md: Metadata): string | undefined {
  const v = md.get('authorization')[0];
  return v === undefined ? undefined : String(v);
}

export function inferenceService(d: InferenceServiceDeps): UntypedServiceImplementation {
  /** One RPC: authenticate (unless `need` is undefined), run, map errors to a status. */
  const unary =
    <Req, Res>(
      need: Permission | undefined,
      fn: (req: Req, caller: TokenInfo | undefined, md: Metadata) => Promise<Res>,
    ) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const authorized = need
        ? d.auth.check({ headers: { authorization: authorization(call.metadata) } }, need)
        : Promise.resolve(undefined);
      authorized
        .then((caller) => fn(call.request, caller, call.metadata))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toServiceError(err, d.log)),
        );
    };

  const healthy = async (path: string) =>
    (await d.replicas.request({ method: 'GET', path })).status === 200;

  return {
    // Health is open, as /v2/health/* is over HTTP (probes carry no token).
    ServerLive: unary(undefined, async () => ({ live: await healthy('/v2/health/live') })),
    ServerReady: unary(undefined, async () => ({ ready: await healthy('/v2/health/ready') })),

    ModelReady: unary('read', async (req: ModelRef) => {
      const a = await d.replicas.request({ method: 'GET', path: modelPath(req, '/ready') });
      // 503: known but not ready; anything else but 200 is an error (404: unknown model)
      if (a.status === 503) return { ready: false };
      d.replicas.parse(a);
      return { ready: true };
    }),

    // the gateway's own list: it serves the repository's load and unload, a replica does not
    ServerMetadata: unary('read', async () => SERVER_METADATA),
    ModelMetadata: unary('read', (req: ModelRef) => d.replicas.getJson(modelPath(req))),
    ModelConfig: unary('read', async (req: ModelRef) => ({
      config: await d.replicas.getJson(modelPath(req, '/config')),
    })),

    ModelStatistics: unary('read', async (req: ModelRef) => ({
      model_stats: await fleetStatistics(d.replicas, req.name ?? '', req.version ?? ''),
    })),
    RepositoryIndex: unary('read', async (req: RepositoryIndexRequest) => ({
      models: await repositoryIndex(d.replicas, req.ready === true),
    })),
    RepositoryModelLoad: unary('admin', async (req: RepositoryModelRequest) => {
      const p = repositoryParams(fromGrpcParams(req.parameters));
      await loadModel(d.repository, req.model_name, p.version);
      return {};
    }),
    RepositoryModelUnload: unary('admin', async (req: RepositoryModelRequest) => {
      const p = repositoryParams(fromGrpcParams(req.parameters));
      await unloadModel(d.repository, req.model_name, p.version);
      return {};
    }),

    ModelInfer: unary('predict', async (req: ModelInferRequest, caller, md) => {
      const http = toHttpInfer(req);
      // The canary split's keys, as over HTTP: the client's own request key in the metadata,
      // else the caller's token, so that one client keeps one generation whatever the protocol.
      const requestKey = md.get(REQUEST_KEY_HEADER)[0];
      const a = await d.replicas.request({
        method: 'POST',
        path: http.path,
        body: http.body,
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(http.headerLength),
          ...(caller ? { [CLIENT_KEY_HEADER]: caller.id } : {}),
          ...(requestKey === undefined ? {} : { [REQUEST_KEY_HEADER]: String(requestKey) }),
        },
      });
      if (a.status !== 200) throw new ReplicaError(a.status, d.replicas.errorOf(a));
      const header = a.headers['inference-header-content-length'];
      const res = fromHttpInfer(
        a.body,
        header === undefined ? undefined : Number(header),
        http.raw,
      );
      if (d.onPrediction && (d.wantsPrediction?.(http.path) ?? true)) {
        d.onPrediction(http.path, http.body, a.body, a.headers);
      }
      return res;
    }),
  };
}
