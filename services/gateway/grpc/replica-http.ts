/**
 * The gRPC front's HTTP calls to serving replicas: through the inference proxy's keep-alive
 * agent and replica selection (retried on another replica when one cannot be reached), and
 * to every replica at once for the figures that are per replica (statistics, the index).
 */
import http from 'node:http';
import { guardConnect, onSomeReplica } from '../serving/replica-requests.js';
import { ResponseDeadlines, routeOf } from '../serving/response-deadlines.js';
import type { ServingUpstreams } from '../serving/serving-upstreams.js';
import type { ServingLinks } from '../serving/serving-link.js';
import { ReplicaError } from './status.js';

export interface ReplicaAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ReplicaRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  headers?: Record<string, string>;
}

function send(
  agent: http.Agent,
  target: URL,
  r: ReplicaRequest,
  timeoutMs?: number,
  /** no answer's headers within this (ms): the attempt fails as a retryable ETIMEDOUT */
  headersTimeoutMs?: number,
): Promise<ReplicaAnswer> {
  return new Promise((resolve, reject) => {
    const body = r.body ?? Buffer.alloc(0);
    let headersTimer: NodeJS.Timeout | undefined;
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, 'content-length': String(body.length) },
        agent,
        ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
      },
      (res) => {
        clearTimeout(headersTimer);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 502,
            headers: res.headers,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    up.on('error', (err) => {
      clearTimeout(headersTimer);
      reject(err);
    });
    guardConnect(up);
    if (headersTimeoutMs) {
      // A replica on a dead node keeps the kept-alive socket open and never answers.
      headersTimer = setTimeout(() => {
        up.destroy(
          Object.assign(new Error(`no answer within ${Math.round(headersTimeoutMs)} ms`), {
            code: 'ETIMEDOUT',
          }),
        );
      }, headersTimeoutMs);
    }
    up.end(body);
  });
}

/** The `error` a replica's protocol error body carries, else a stand-in. */
function errorMessage(a: ReplicaAnswer): string {
  try {
    const e = (JSON.parse(a.body.toString('utf8')) as { error?: unknown }).error;
    if (typeof e === 'string' && e) return e;
  } catch {
    // not JSON: fall through
  }
  return `serving answered ${a.status}`;
}

export class ReplicaHttp {
  constructor(
    private readonly upstreams: ServingUpstreams,
    private readonly agent: http.Agent,
    /** how long each replica may take in `everyReplica` @defaultValue 5000 */
    private readonly fanOutTimeoutMs = 5_000,
    /** each attempt's wait for an answer, as the REST proxy's (none: wait for good) */
    private readonly deadlines?: ResponseDeadlines,
    /** the replicas' serving links, used for `request` when open */
    private readonly links?: ServingLinks,
  ) {}

  /**
   * One request to some replica; any answer (including 4xx/5xx) is returned. With deadlines
   * and another replica to turn to, a replica that does not answer in time is marked down and
   * the request goes to another (inference is idempotent).
   */
  request(r: ReplicaRequest): Promise<ReplicaAnswer> {
    const route = routeOf(r.path);
    return onSomeReplica(this.upstreams, async (target) => {
      const timeout =
        this.deadlines && this.upstreams.all().length > 1
          ? this.deadlines.timeoutFor(route)
          : undefined;
      const t0 = performance.now();
      const link = this.links?.ready(target);
      const a = link
        ? await link.request(
            r.method,
            r.path,
            r.headers ?? {},
            r.body ?? Buffer.alloc(0),
            timeout ?? 0,
          )
        : await send(this.agent, target, r, undefined, timeout);
      if (a.status < 500) this.deadlines?.observe(route, performance.now() - t0);
      return a;
    });
  }

  /** A GET whose 2xx JSON answer is wanted; other answers become a ReplicaError. */
  async getJson<T>(path: string): Promise<T> {
    return this.parse<T>(await this.request({ method: 'GET', path }));
  }

  /** The same request to every replica; unreachable ones are left out. */
  async everyReplica(r: ReplicaRequest): Promise<ReplicaAnswer[]> {
    const answers = await Promise.all(
      this.upstreams
        .all()
        .map((target) => send(this.agent, target, r, this.fanOutTimeoutMs).catch(() => undefined)),
    );
    return answers.filter((a): a is ReplicaAnswer => a !== undefined);
  }

  /** The protocol error message of a non-2xx answer. */
  errorOf(a: ReplicaAnswer): string {
    return errorMessage(a);
  }

  /** A 2xx answer's JSON; any other answer becomes a ReplicaError. */
  parse<T>(a: ReplicaAnswer): T {
    if (a.status < 200 || a.status >= 300) throw new ReplicaError(a.status, errorMessage(a));
    return JSON.parse(a.body.toString('utf8')) as T;
  }
}
