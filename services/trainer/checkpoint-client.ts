import { handlerHttpUrl } from '../../shared/index.js';
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

/** The handler's checkpoint address from the WebSocket URL workers are given (ws://host:port/ws). */
export function checkpointUrl(handlerWsUrl: string, sessionId: string): string {
  return handlerHttpUrl(handlerWsUrl, `/sessions/${encodeURIComponent(sessionId)}/checkpoint`);
}

/** How long a finished run keeps trying to clear its checkpoint (an event handler restart). */
const CLEAR_RETRY_MS = 30_000;

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
      // A checkpoint left behind means "resume me": a finished run must not leave one because
      // the event handler was restarting just then, so unreachable or 5xx is tried again.
      const attempt = async (): Promise<'done' | Error> => {
        let res: Response;
        try {
          res = await fetch(url, { method: 'DELETE', headers: auth });
        } catch (err) {
          return err as Error;
        }
        if (res.ok || res.status === 404) return 'done';
        const refused = await fail('clear', res);
        if (res.status < 500) throw refused; // asking again would be refused again
        return refused;
      };
      const deadline = Date.now() + CLEAR_RETRY_MS;
      for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 4_000)) {
        const outcome = await attempt();
        if (outcome === 'done') return;
        if (Date.now() + waitMs > deadline) throw outcome;
        await new Promise((r) => setTimeout(r, waitMs));
      }
    },
  };
}
