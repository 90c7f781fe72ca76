import WebSocket from 'ws';
import type { Client } from './client.js';

export interface StreamedEvent {
  id: string;
  sessionId?: string;
  kind: string;
  payload: any;
  time: string;
}

/**
 * Follows topics over the gateway's WebSocket, resuming after the last event seen if the
 * connection drops. Resolves when `onEvent` returns true (done) or the signal aborts.
 */
export async function follow(
  client: Client,
  topics: string[],
  onEvent: (e: StreamedEvent) => boolean | void,
  opts: { since?: string; signal?: AbortSignal } = {},
): Promise<void> {
  let last = opts.since;
  let retry = 200;
  for (;;) {
    if (opts.signal?.aborted) return;
    const done = await new Promise<boolean>((resolve, reject) => {
      const url = client.url.replace(/^http/, 'ws') + '/api/v1/ws';
      const ws = new WebSocket(url, { headers: client.headers() });
      const stop = () => {
        ws.close();
        resolve(true);
      };
      opts.signal?.addEventListener('abort', stop, { once: true });
      ws.on('unexpected-response', (_req, res) => {
        reject(new Error(`the gateway refused the WebSocket: HTTP ${res.statusCode}`));
      });
      ws.on('open', () => {
        retry = 200;
        ws.send(
          JSON.stringify({ op: 'subscribe', id: 'cli', topics, ...(last ? { since: last } : {}) }),
        );
      });
      ws.on('message', (raw: Buffer) => {
        const m = JSON.parse(raw.toString()) as {
          op: string;
          event?: StreamedEvent;
          ok?: boolean;
          error?: { message: string };
        };
        if (m.op === 'reply' && m.ok === false) {
          ws.close();
          reject(new Error(m.error?.message ?? 'subscribe refused'));
        } else if (m.op === 'event' && m.event) {
          last = m.event.id;
          if (onEvent(m.event) === true) {
            opts.signal?.removeEventListener('abort', stop);
            ws.close();
            resolve(true);
          }
        }
      });
      ws.on('close', () => resolve(false));
      ws.on('error', () => {});
    });
    if (done) return;
    await new Promise((r) => setTimeout(r, retry));
    retry = Math.min(retry * 2, 5000);
  }
}
