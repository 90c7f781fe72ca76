/**
 * Triton's repository load and unload over HTTP on the gateway
 * (`POST /v2/repository/models/<m>/load|unload`, body optional: `{"parameters": {...}}`),
 * answered here rather than by a replica: they change what every replica serves. The same
 * code as the gRPC RPCs (grpc/repository.ts); an admin token is required.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { status } from '@grpc/grpc-js';
import {
  AppError,
  BadInput,
  checkPathEncoding,
  parseJson,
  readDecodedBody,
  send,
  sendError,
  type Logger,
} from '../../../shared/index.js';
import type { Authenticator } from '../http/authenticate.js';
import { loadModel, unloadModel, type RepositoryDeps } from '../grpc/repository.js';
import { RepositoryBody, repositoryParams } from '../grpc/repository-params.js';
import { GrpcStatusError } from '../grpc/status.js';

const PATH = /^\/v2\/repository\/models\/([^/?]+)\/(load|unload)\/?(?:\?.*)?$/;

/** A repository step that could not finish, as an HTTP error (Triton's mapping). */
class RepositoryRefused extends AppError {
  override readonly status: number;
  constructor(err: GrpcStatusError) {
    const http =
      err.code === status.UNAVAILABLE ? 503 : err.code === status.DEADLINE_EXCEEDED ? 504 : 400;
    super(http === 400 ? 'BAD_INPUT' : 'UNAVAILABLE', err.message);
    this.status = http;
  }
}

export interface RepositoryHttpDeps {
  auth: Authenticator;
  repository: RepositoryDeps;
  log: Logger;
}

/** Whether this request is a repository load or unload (the caller then hands it here). */
export function isRepositoryCall(req: IncomingMessage): boolean {
  return req.method === 'POST' && PATH.test(req.url ?? '');
}

export function repositoryHttp(d: RepositoryHttpDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await d.auth.check(req, 'admin');
      const url = req.url ?? '';
      checkPathEncoding(url);
      const m = PATH.exec(url)!;
      const model = decodeURIComponent(m[1]!);
      const body = await readDecodedBody(req, 64 * 1024);
      const json = body.length === 0 ? {} : parseJson(body.toString('utf8'), 'repository request');
      const parsed = RepositoryBody.safeParse(json);
      if (!parsed.success) {
        throw new BadInput(`repository request: ${parsed.error.issues[0]?.message ?? 'bad body'}`);
      }
      const p = repositoryParams(parsed.data.parameters);
      if (m[2] === 'load') await loadModel(d.repository, model, p.version);
      else await unloadModel(d.repository, model, p.version);
      // Triton answers an empty 200
      send(res, 200, '', { 'content-length': 0 });
    } catch (err) {
      sendError(
        req,
        res,
        err instanceof GrpcStatusError ? new RepositoryRefused(err) : err,
        d.log,
        'protocol',
      );
    }
  };
}
