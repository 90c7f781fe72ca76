import http from 'node:http';
import type { Request, Response } from 'express';
import {
  ByteLimit,
  checkDeclaredLength,
  checkName,
  drainRequest,
  Unavailable,
  UnsupportedMediaType,
} from '../../../shared/index.js';

export interface UploadProxyOptions {
  intakeUrl: string;
  internalToken: string;
  limitBytes: number;
}

/**
 * Streams an upload body to the data-intake service (same content type and query) and
 * hands its answer back unchanged. Past `limitBytes` the upload is cut and the client
 * gets 413; the intake, seeing its request aborted, stores nothing.
 */
export function proxyUpload(
  opts: UploadProxyOptions,
  name: string,
  req: Request,
  res: Response,
): Promise<void> {
  checkName(name, 'dataset');
  if ((req as { _body?: boolean })._body || req.readableEnded) {
    throw new UnsupportedMediaType(
      'this body was sent as application/json: send JSON lines as application/x-ndjson (or application/octet-stream with ?format=jsonl)',
    );
  }
  checkDeclaredLength(req, opts.limitBytes);
  const target = new URL(`/datasets/${encodeURIComponent(name)}`, opts.intakeUrl);
  target.search = new URL(req.originalUrl, 'http://gateway').search;
  const headers: http.OutgoingHttpHeaders = {
    authorization: `Bearer ${opts.internalToken}`,
    'content-type': req.headers['content-type'] ?? 'application/octet-stream',
  };
  if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      upstream.destroy();
      res.setHeader('connection', 'close');
      drainRequest(req);
      reject(err);
    };
    const upstream = http.request(target, { method: 'POST', headers });
    const limit = new ByteLimit(opts.limitBytes);
    limit.on('error', fail);
    upstream.on('error', (err) =>
      fail(new Unavailable(`data-intake is not reachable: ${err.message}`)),
    );
    upstream.on('response', (answer) => {
      if (settled) return answer.resume();
      settled = true;
      // The intake may answer (a bad line, say) before the whole body went through.
      const early = !req.complete;
      if (early) {
        res.setHeader('connection', 'close');
        drainRequest(req);
      }
      res.status(answer.statusCode ?? 502);
      const type = answer.headers['content-type'];
      if (type) res.setHeader('content-type', type);
      answer.pipe(res);
      answer.on('end', () => {
        if (early) upstream.destroy();
        resolve();
      });
      answer.on('error', reject);
    });
    // A client that goes away mid-upload aborts the intake's request: nothing is stored.
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(limit).pipe(upstream);
  });
}
