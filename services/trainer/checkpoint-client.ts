/**
 * A session's checkpoint, kept by the event handler (`/sessions/:id/checkpoint`, with the
 * worker's token) in Redis under the session: the same place an SDK worker's checkpoints go,
 * so a resumed worker finds it wherever it is launched.
 */
export interface CheckpointChannel {
  /** The last checkpoint saved, or undefined when there is none. */
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
  /** The work is done: nothing to resume (a checkpoint left behind means "resume me"). */
  clear(): Promise<void>;
}

/** The handler's HTTP address from the WebSocket URL workers are given (ws://host:port/ws). */
export function checkpointUrl(handlerWsUrl: string, sessionId: string): string {
  const u = new URL(handlerWsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/ws\/?$/, '')}/sessions/${encodeURIComponent(sessionId)}/checkpoint`;
  u.search = '';
  return u.toString();
}

export function handlerCheckpoints(
  handlerWsUrl: string,
  token: string,
  sessionId: string,
): CheckpointChannel {
  const url = checkpointUrl(handlerWsUrl, sessionId);
  const auth = { authorization: `Bearer ${token}` };
  const fail = async (what: string, res: Response) => {
    const text = await res.text().catch(() => '');
    return new Error(`checkpoint ${what} answered ${res.status}: ${text.slice(0, 300)}`);
  };
  return {
    async load() {
      const res = await fetch(url, { headers: auth });
      if (res.status === 404) return undefined;
      if (!res.ok) throw await fail('load', res);
      return new Uint8Array(await res.arrayBuffer());
    },
    async save(bytes) {
      const res = await fetch(url, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        // A copy with its own ArrayBuffer: what fetch takes as a body.
        body: new Uint8Array(bytes),
      });
      if (!res.ok) throw await fail('save', res);
    },
    async clear() {
      const res = await fetch(url, { method: 'DELETE', headers: auth });
      if (!res.ok && res.status !== 404) throw await fail('clear', res);
    },
  };
}
