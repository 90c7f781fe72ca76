/** REST calls with the bearer token; errors keep the gateway's code and message. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** the answer's JSON body, for what the message leaves out (a 400's issues, a 403's paths) */
    readonly body?: unknown,
  ) {
    super(message);
  }

  /**
   * A 400's problems, each with its path in the request body: zod's own at the top level,
   * or a domain check's in `details.issues`.
   */
  issues(): { path: string; message: string }[] {
    const b = (this.body ?? {}) as { issues?: unknown; details?: { issues?: unknown } };
    const list = Array.isArray(b.issues) ? b.issues : b.details?.issues;
    if (!Array.isArray(list)) return [];
    return list.flatMap((i: unknown) => {
      const x = i as { path?: unknown; message?: unknown } | null;
      return x && typeof x.message === 'string'
        ? [{ path: typeof x.path === 'string' ? x.path : '', message: x.message }]
        : [];
    });
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
}

/** Called with every 401, so the page can send the person back to the login. */
export type OnUnauthorized = (err: ApiError) => void;

export function createApi(token: string, onUnauthorized: OnUnauthorized = () => {}): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', `cannot reach the gateway: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const b = (json ?? {}) as { error?: string; message?: string };
      const err = new ApiError(
        res.status,
        b.error ?? `HTTP_${res.status}`,
        b.message ?? (text.slice(0, 200) || res.statusText),
        json,
      );
      if (res.status === 401) onUnauthorized(err);
      throw err;
    }
    return json as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    put: (path, body) => call('PUT', path, body),
  };
}
