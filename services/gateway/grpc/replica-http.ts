/**
 * The gRPC front's HTTP calls to serving replicas: through the inference proxy's keep-alive
 * agent and replica selection (retried on another replica when one cannot be reached), and
 * to every replica at once for the figures that are per replica (statistics, the index).
 */
import http from 'node:http';
import { guardConnect, onSomeReplica } from '../serving/replica-requests.js';
import type { ServingUpstreams } from '../serving/serving-upstreams.js';
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
): Promise<ReplicaAnswer> {
  return new Promise((resolve, reject) => {
    const body = r.body ?? Buffer.alloc(0);
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
    up.on('error', reject);
    guardConnect(up);
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
  ) {}

  /** One request to some replica; any answer (including 4xx/5xx) is returned. */
  request(r: ReplicaRequest): Promise<ReplicaAnswer> {
    return onSomeReplica(this.upstreams, (target) => send(this.agent, target, r));
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
