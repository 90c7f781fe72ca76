import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  DatasetStore,
  EventLog,
  Keys,
  NotFound,
  Unauthorized,
  type Logger,
  AppendBody,
  checkDeclaredLength,
  createProbes,
  createSampleAppender,
  decodePathSegment,
  limitedBody,
  readJson,
  redisCheck,
  sendError,
  sendJson,
  type SampleAppender,
  versionView,
} from '../../shared/index.js';
import type { IntakeConfig } from './config.js';
import { ingestUpload } from './ingest-upload.js';
import { uploadOptions } from './upload-options.js';

export interface IntakeDeps {
  config: IntakeConfig;
  log: Logger;
  redis: Redis;
}

export interface IntakeApp {
  server: http.Server;
  appendSamples: SampleAppender;
  /** Listens; answers the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting; uploads in flight finish (bounded by the caller's shutdown deadline). */
  close(): Promise<void>;
}

const UPLOAD = /^\/datasets\/([^/]+)$/;
const APPEND = /^\/datasets\/([^/]+)\/append$/;
/** Appends are at most MAX_APPEND_ROWS rows of JSON. */
const APPEND_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * The data-intake service: internal HTTP only (the gateway is the door and checks user
 * tokens); every request carries the internal token.
 */
export function buildIntakeApp(deps: IntakeDeps): IntakeApp {
  const { config, log, redis } = deps;
  const keys = new Keys(config.SWARMML_PREFIX);
  const datasets = new DatasetStore(redis, keys);
  const events = new EventLog(redis, keys);
  const appendSamples = createSampleAppender({ datasets, events, keys, log });
  const expected = Buffer.from(`Bearer ${config.internalToken}`);
  const authorised = (req: http.IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const probes = createProbes({ ready: [redisCheck(redis)] });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (probes(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://intake');
    if (!authorised(req)) throw new Unauthorized('missing or wrong internal token');
    const upload = req.method === 'POST' ? UPLOAD.exec(url.pathname) : null;
    if (upload) {
      const name = decodePathSegment(upload[1]!, 'dataset name');
      checkDeclaredLength(req, config.UPLOAD_LIMIT_BYTES);
      const opts = uploadOptions(url.searchParams, req.headers['content-type']);
      const declared = req.headers['content-length'];
      const { meta, identical } = await ingestUpload(
        { datasets, events, log },
        name,
        limitedBody(req, config.UPLOAD_LIMIT_BYTES),
        opts,
        {
          tmpDir: config.tmpDir,
          memoryLimitBytes: config.PARSE_MEMORY_BYTES,
          shardBytes: config.SHARD_BYTES,
          maxDecompressedBytes: config.UPLOAD_LIMIT_BYTES,
          ...(declared === undefined ? {} : { declaredBytes: Number(declared) }),
        },
      );
      // 200, not 201: nothing was created; `identical` tells clients which version holds it.
      if (identical) return sendJson(res, 200, { ...versionView(meta), identical: true });
      return sendJson(res, 201, versionView(meta));
    }
    const append = req.method === 'POST' ? APPEND.exec(url.pathname) : null;
    if (append) {
      const body = AppendBody.parse(await readJson(req, APPEND_BODY_LIMIT));
      const meta = await appendSamples(
        decodePathSegment(append[1]!, 'dataset name'),
        body.rows,
        body,
      );
      return sendJson(res, 201, versionView(meta));
    }
    throw new NotFound(`no route ${req.method} ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendError(req, res, err, log));
  });
  server.requestTimeout = 0; // uploads of gigabytes take minutes
  server.keepAliveTimeout = 65_000;

  return {
    server,
    appendSamples,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
