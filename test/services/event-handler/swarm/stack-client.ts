/** A small client of a deployed stack's published port, for the stack tests. */
export class StackClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** Any answer, parsed as JSON where it is; never throws on a status. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 10_000,
  ): Promise<{ status: number; body: unknown; servedBy: string | null }> {
    const raw = Buffer.isBuffer(body);
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined
          ? {}
          : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: raw ? new Uint8Array(body) : JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, servedBy: res.headers.get('x-served-by') };
  }

  /** The JSON of a 2xx answer; throws with the body otherwise. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body as T;
  }

  /**
   * One KServe v2 prediction of a 64-feature row through the gateway; a client that waits
   * less than the gateway's response deadline sees a failure where the gateway would retry.
   */
  infer(model: string, row: number[], timeoutMs?: number) {
    return this.request(
      'POST',
      `/v2/models/${model}/infer`,
      { inputs: [{ name: 'input', shape: [1, row.length], datatype: 'FP32', data: row }] },
      timeoutMs,
    );
  }
}

export interface SteadyLoad {
  ok: number;
  failed: number;
  errors: string[];
  /** answers per replica (x-served-by) */
  servedBy: Map<string, number>;
  stop(): Promise<{ ok: number; failed: number; errors: string[] }>;
}

/** `concurrency` clients sending one request after another until stopped. */
export function steadyLoad(
  send: () => Promise<{ status: number; body: unknown; servedBy: string | null }>,
  concurrency: number,
): SteadyLoad {
  let stopped = false;
  const t0 = Date.now();
  const at = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const load: SteadyLoad = {
    ok: 0,
    failed: 0,
    errors: [],
    servedBy: new Map(),
    async stop() {
      stopped = true;
      await Promise.all(clients);
      const e = load.errors;
      return {
        ok: load.ok,
        failed: load.failed,
        errors: e.length > 10 ? [...e.slice(0, 5), '...', ...e.slice(-5)] : e,
      };
    },
  };
  const client = async () => {
    while (!stopped) {
      try {
        const r = await send();
        if (r.status === 200) {
          load.ok++;
          if (r.servedBy) load.servedBy.set(r.servedBy, (load.servedBy.get(r.servedBy) ?? 0) + 1);
        } else {
          load.failed++;
          load.errors.push(`${at()} ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
      } catch (err) {
        load.failed++;
        const e = err as Error & { cause?: { code?: string } };
        load.errors.push(`${at()} ${e.cause?.code ?? e.message}`);
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  return load;
}
