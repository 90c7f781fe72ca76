import { existsSync, readFileSync } from 'node:fs';
import { localSettings } from './local/settings.js';

export interface ClientOptions {
  url?: string;
  token?: string;
}

/** A failed API call, carrying the server's JSON error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: {
      error?: string;
      message?: string;
      issues?: { path: string; message: string }[];
    },
  ) {
    const detail = body.issues?.length
      ? body.issues.map((i) => `  ${i.path || '(body)'}: ${i.message}`).join('\n')
      : '';
    super(
      `${status} ${body.error ?? 'ERROR'}: ${body.message ?? ''}${detail ? '\n' + detail : ''}`,
    );
  }
}

/**
 * Gateway URL and token: flags, else SWARMML_URL / SWARMML_TOKEN, else local mode's
 * defaults (http://127.0.0.1:$SWARMML_PORT and $SWARMML_HOME/admin.token).
 */
export function resolveTarget(opts: ClientOptions): { url: string; token: string | undefined } {
  const s = localSettings();
  const url = (opts.url ?? process.env.SWARMML_URL ?? `http://127.0.0.1:${s.port}`).replace(
    /\/$/,
    '',
  );
  let token = opts.token ?? process.env.SWARMML_TOKEN;
  if (!token && existsSync(s.tokenFile)) token = readFileSync(s.tokenFile, 'utf8').trim();
  return { url, token };
}

export class Client {
  readonly url: string;
  readonly token: string | undefined;

  constructor(opts: ClientOptions = {}) {
    const t = resolveTarget(opts);
    this.url = t.url;
    this.token = t.token;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    init: RequestInit = {},
  ): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
        ...init,
      });
    } catch (err) {
      throw new Error(
        `cannot reach the gateway at ${this.url}. Is it running (\`npm start\`)? Set --url or SWARMML_URL otherwise.`,
        { cause: err },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = { error: 'BAD_RESPONSE', message: text.slice(0, 200) };
    }
    if (!res.ok) throw new ApiError(res.status, json ?? {});
    return json as T;
  }

  get<T>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body ?? {});
  }
  put<T>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T>(path: string) {
    return this.request<T>('DELETE', path);
  }
}
