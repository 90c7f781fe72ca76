/**
 * KServe v2 server metadata (`GET /v2`, gRPC ServerMetadata), answered by the gateway: the
 * extensions listed are the ones served through it, over HTTP and gRPC alike. A replica
 * reached directly lists fewer (the repository's load and unload are the gateway's).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, sendJson, type Logger } from '../../../shared/index.js';
import type { Authenticator } from '../http/authenticate.js';

export const SERVER_METADATA = Object.freeze({
  name: 'swarmml',
  version: '0.1.0',
  extensions: Object.freeze([
    'binary_tensor_data',
    'classification',
    'model_configuration',
    'model_repository',
    'statistics',
  ]),
});

export function isServerMetadataCall(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'GET' && (url === '/v2' || url === '/v2/');
}

export function serverMetadataHttp(auth: Authenticator, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await auth.check(req, 'read');
      sendJson(res, 200, SERVER_METADATA);
    } catch (err) {
      sendError(req, res, err, log, 'protocol');
    }
  };
}
