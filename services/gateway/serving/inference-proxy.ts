import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Pool } from 'undici';
import {
  AppError,
  BadGateway,
  checkDeclaredLength,
  checkPathEncoding,
  readDecodedBody,
  ERROR_CODES,
  send,
  toErrorReply,
  type Logger,
  CLIENT_KEY_HEADER,
} from '../../../shared/index.js';
import { gunzipSync } from 'node:zlib';
import type { Authenticator } from '../http/authenticate.js';
import type { ServingUpstreams } from './serving-upstreams.js';
import { onSomeReplica, unreachable } from './replica-requests.js';
import { ResponseDeadlines, routeOf, type ResponseDeadlineOptions } from './response-deadlines.js';
import type { ServingLink, ServingLinks } from './serving-link.js';

export interface InferenceProxyOptions {
  upstreams: ServingUpstreams;
  auth: Authenticator;
  log: Logger;
  maxBodyBytes: number;
  /**
   * Ignored: REST inference goes over the serving links, or undici pools of its own (one per
   * replica), which cost about half of node:http's client per request; the gRPC front uses
   * the agent when a replica has no link.
   */
  agent?: http.Agent;
  /** How long a request may wait for some replica to accept it before a 503. @defaultValue 3000 */
  retryWindowMs?: number;
  /**
   * How long a replica may take to start answering before it is marked down and the request
   * goes to another (inference is idempotent): relative to each route's observed latency.
   */
  responseDeadlines?: ResponseDeadlineOptions;
  /**
   * Whether a predict call on this path is worth capturing; without it every answer is
   * captured. Answers of paths it declines are piped straight through, never buffered.
   */
  wantsPrediction?: (path: string) => boolean;
  /**
   * Links to the replicas (one framed connection each, many requests in flight): used when
   * open, HTTP otherwise. Without it every request goes by HTTP.
   */
  links?: ServingLinks;
  /** Called with each successful predict exchange (delivery rules hook in here). */
  onPrediction?: (
    path: string,
    request: Buffer,
    response: Buffer,
    headers: http.IncomingHttpHeaders,
  ) => void;
}

/** One inference request, its body already read: what goes to a serving replica. */
export interface InferenceCall {
  method: string;
  /** path and query, as the protocols name them (`/v2/models/m/infer`) */
  path: string;
  /** forwarded as they are, except the caller's token */
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Where a replica's answer goes: the client's HTTP response, or a buffer (WebSocket). */
export interface AnswerSink extends NodeJS.WritableStream {
  /** once true, a failure cannot be retried on another replica */
  readonly headersSent: boolean;
  writeHead(status: number, headers: http.IncomingHttpHeaders): unknown;
}

export interface InferenceProxy {
  /**
   * The node:http handler for `/v2/...` and `/v1/models/...`. `expectsContinue`: the
   * request came through the server's `checkContinue` event (`Expect: 100-continue`), so
   * its body comes only once the token and the declared size passed and 100 went out.
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    opts?: { expectsContinue?: boolean },
  ): Promise<void>;
  /**
   * A KServe v2 infer call made on a client's behalf (the WebSocket `predict`), through the
   * same replicas, retries and prediction capture as a REST call; answers its JSON.
   */
  predict(model: string, version: number | undefined, request: unknown): Promise<unknown>;
  /** Closes its HTTP connections to the replicas (the links are the caller's). */
  close(): Promise<void>;
}

/** Inference protocol paths (KServe v2 and TF Serving) that the gateway forwards. */
export function isInferencePath(url: string): boolean {
  return url.startsWith('/v2') || url.startsWith('/v1/models');
}

/** An answer kept whole, for callers that want the replica's JSON rather than a stream. */
class BufferedAnswer extends Writable {
  status = 0;
  headersSent = false;
  private readonly chunks: Buffer[] = [];
  writeHead(status: number): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A replica's error answer (`{error, code}`, the protocol shape) as an AppError. */
class ReplicaRefused extends AppError {
  override readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}

function refusal(status: number, body: Buffer): ReplicaRefused {
  let e: { error?: unknown; code?: unknown } = {};
  try {
    e = JSON.parse(body.toString('utf8')) as typeof e;
  } catch {
    // not JSON: fall back on the status
  }
  const byStatus = Object.entries(ERROR_CODES).find(([, v]) => v.status === status)?.[0];
  return new ReplicaRefused(
    status,
    typeof e.code === 'string' ? e.code : (byStatus ?? (status >= 500 ? 'INTERNAL' : 'BAD_INPUT')),
    typeof e.error === 'string' ? e.error : `serving answered ${status}`,
  );
}

/**
 * What an authenticated client may still send after an early answer (a 413 on a body it is
 * sending) before the connection is cut: up to this much, for up to this long, is read and
 * dropped, so that a client that reads its answer only once its body is out (most do) gets
 * the answer instead of a reset.
 */
const DRAIN_AFTER_ANSWER_BYTES = 1024 ** 3;
const DRAIN_AFTER_ANSWER_MS = 30_000;
/** The same for a caller without a valid token: the toolkit's usual allowance. */
const DRAIN_UNTRUSTED_BYTES = 16 * 1024 ** 2;

/**
 * Answers `err` in the protocols' `{error}` shape. A body not yet sent (`waiting`: 100
 * Continue never went out) will not come: the connection closes after the answer. A body
 * on its way is read and dropped behind the answer, and the answer ends only once it is
 * in: node:http closes the socket when an answer ends (at once if the client asked for
 * `connection: close`), and a socket closed with unread bytes is reset, losing the answer.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  log: Logger,
  { waiting, trusted }: { waiting: boolean; trusted: boolean },
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reply = toErrorReply(err, log, 'protocol');
  const text = JSON.stringify(reply.body);
  if (waiting || req.complete) {
    send(res, reply.status, text, {
      ...reply.headers,
      ...(waiting ? { connection: 'close' } : {}),
    });
    return;
  }
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...reply.headers,
  });
  res.write(text);
  let seen = 0;
  const limit = trusted ? DRAIN_AFTER_ANSWER_BYTES : DRAIN_UNTRUSTED_BYTES;
  const cut = () => req.destroy();
  const timer = setTimeout(cut, DRAIN_AFTER_ANSWER_MS);
  req.unpipe();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > limit) cut();
  });
  req.once('end', () => res.end());
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Connection-level headers, which belong to one hop (RFC 9110 7.6.1); undici refuses them. */
const NOT_FORWARDED = new Set([
  'authorization', // the caller's token stays here
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
  // The body is read whole already: the client's `Expect: 100-continue` was answered here.
  'expect',
  'host',
  'content-length',
  // The body was inflated here (its limit counts the inflated bytes); it goes on plain.
  'content-encoding',
]);

/** The same for an answer: its connection's headers stay with the hop. */
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

const CONNECT_TIMEOUT_MS = 3_000;

function forwardedHeaders(call: InferenceCall): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(call.headers)) {
    if (v !== undefined && !NOT_FORWARDED.has(k)) headers[k] = v;
  }
  return headers;
}

/**
 * The inference hot path: a plain node:http handler (no express middleware) that checks the
 * token and buffers the (small) body so a failed replica can be retried on another. A replica
 * is reached over its serving link when that is open (the answer comes whole, in a frame),
 * else through an undici pool of kept-alive connections, whose answer is streamed back (kept
 * whole only when a delivery rule wants it): undici's client costs less CPU per request than
 * node:http's, and a link less than either. Protocol errors use the specs' `{error}` body.
 */
export function createInferenceProxy(o: InferenceProxyOptions): InferenceProxy {
  const pools = new Map<string, Pool>();
  const deadlines = new ResponseDeadlines(o.responseDeadlines);
  // A replica marked down (no answer, refused connection): the requests still waiting on its
  // connections fail now with a retryable error and go elsewhere, instead of each waiting
  // out its own deadline. Its pool is dropped; a later pick opens a fresh one.
  o.upstreams.onDown((target) => {
    const pool = pools.get(target.origin);
    if (!pool) return;
    pools.delete(target.origin);
    pool
      .destroy(Object.assign(new Error('replica marked down'), { code: 'ECONNRESET' }))
      .catch(() => {});
  });
  const poolFor = (target: URL) => {
    let pool = pools.get(target.origin);
    if (!pool) {
      pool = new Pool(target.origin, {
        connections: 256,
        keepAliveTimeout: 30_000,
        // A replica killed a moment ago can stay in DNS briefly, and a SYN to it gets no
        // answer at all: give up quickly and let onSomeReplica try another one.
        connect: { timeout: CONNECT_TIMEOUT_MS },
        // Set per request from the route's observed latency (ResponseDeadlines).
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      pools.set(target.origin, pool);
    }
    return pool;
  };

  const wantsCapture = (call: InferenceCall, status: number) =>
    o.onPrediction !== undefined &&
    call.method === 'POST' &&
    status === 200 &&
    (o.wantsPrediction?.(call.path) ?? true);

  const captured = (call: InferenceCall, answer: Buffer, upHeaders: http.IncomingHttpHeaders) => {
    // The replica gzip'ed it for a client that accepts gzip; capture reads it plain.
    const gzipped = upHeaders['content-encoding'] === 'gzip';
    o.onPrediction?.(call.path, call.body, gzipped ? gunzipSync(answer) : answer, upHeaders);
  };

  /** With one replica there is nowhere else to go: waiting is all a retry could do. */
  const deadlineFor = (route: string) =>
    o.upstreams.all().length > 1 ? deadlines.timeoutFor(route) : 0;

  const forwardByHttp = async (
    target: URL,
    call: InferenceCall,
    sink: AnswerSink,
  ): Promise<void> => {
    const route = routeOf(call.path);
    const t0 = performance.now();
    const up = await poolFor(target).request({
      method: call.method as 'POST',
      path: call.path,
      headers: forwardedHeaders(call),
      body: call.body.length > 0 ? call.body : null,
      headersTimeout: deadlineFor(route),
    });
    if (up.statusCode < 500) deadlines.observe(route, performance.now() - t0);
    const upHeaders = up.headers as http.IncomingHttpHeaders;
    sink.writeHead(up.statusCode, upHeaders);
    const capture = wantsCapture(call, up.statusCode);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      up.body.once('error', reject);
      if (capture) {
        up.body.on('data', (c: Buffer) => {
          chunks.push(c);
          sink.write(c);
        });
        up.body.once('end', () => {
          sink.end();
          resolve();
        });
      } else {
        up.body.pipe(sink);
        up.body.once('end', resolve);
      }
    });
    if (capture) captured(call, Buffer.concat(chunks), upHeaders);
  };

  /** The same over the replica's link: the answer comes whole, in one frame. */
  const forwardByLink = async (
    link: ServingLink,
    call: InferenceCall,
    sink: AnswerSink,
  ): Promise<void> => {
    const route = routeOf(call.path);
    const t0 = performance.now();
    const answer = await link.request(
      call.method,
      call.path,
      forwardedHeaders(call),
      call.body,
      deadlineFor(route),
    );
    if (answer.status < 500) deadlines.observe(route, performance.now() - t0);
    const upHeaders: http.IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(answer.headers)) {
      if (!NOT_RETURNED.has(k)) upHeaders[k] = v;
    }
    sink.writeHead(answer.status, upHeaders);
    sink.end(answer.body);
    if (wantsCapture(call, answer.status)) captured(call, answer.body, upHeaders);
  };

  const forward = (target: URL, call: InferenceCall, sink: AnswerSink): Promise<void> => {
    const link = o.links?.ready(target);
    return link ? forwardByLink(link, call, sink) : forwardByHttp(target, call, sink);
  };

  /** Some replica answers `call` into `sink`; retried elsewhere while nothing reached it. */
  const exchange = async (call: InferenceCall, sink: AnswerSink): Promise<void> => {
    try {
      await onSomeReplica(
        o.upstreams,
        (target) => forward(target, call, sink),
        (err) => !sink.headersSent && unreachable(err),
        o.retryWindowMs,
      );
    } catch (err) {
      if (err instanceof AppError) throw err;
      o.log.warn({ err }, 'inference proxy error');
      throw new BadGateway(`serving replica failed: ${(err as Error).message}`);
    }
  };

  return {
    async handle(req, res, opts = {}) {
      let waiting = opts.expectsContinue === true;
      let trusted = false;
      try {
        const path = req.url ?? '/';
        if (!path.startsWith('/v2/health/')) {
          const caller = await o.auth.check(req, req.method === 'POST' ? 'predict' : 'read');
          // The canary split's key when the client sets none: one token, one generation.
          req.headers[CLIENT_KEY_HEADER] = caller.id;
          trusted = true;
        }
        // A replica would refuse it too, but only one that is up: the answer is the same 400
        // whatever the replicas' state, and no replica is asked.
        checkPathEncoding(path);
        const method = req.method ?? 'GET';
        const hasBody = method !== 'GET' && method !== 'HEAD';
        // Refused on its declared size before a byte of it is read (or, with `Expect:
        // 100-continue`, sent): a body over the limit is never buffered or forwarded.
        if (hasBody) checkDeclaredLength(req, o.maxBodyBytes);
        if (waiting) {
          res.writeContinue();
          waiting = false;
        }
        const body = hasBody ? await readDecodedBody(req, o.maxBodyBytes) : Buffer.alloc(0);
        await exchange({ method, path, headers: req.headers, body }, res);
      } catch (err) {
        refuse(req, res, err, o.log, { waiting, trusted });
      }
    },

    async predict(model, version, request) {
      const path = `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${version}` : ''}/infer`;
      const answer = new BufferedAnswer();
      const body = Buffer.from(JSON.stringify(request));
      await exchange(
        { method: 'POST', path, headers: { 'content-type': 'application/json' }, body },
        answer,
      );
      await finished(answer);
      if (answer.status !== 200) throw refusal(answer.status, answer.body());
      try {
        return JSON.parse(answer.body().toString('utf8')) as unknown;
      } catch {
        // binary_data_output asks for raw tensors, which a JSON reply cannot carry
        throw new BadGateway('the replica did not answer JSON');
      }
    },

    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.destroy().catch(() => {})));
    },
  };
}
