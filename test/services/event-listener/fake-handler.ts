import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { DecisionPayload } from '../../../shared/protocol/events.js';
import type { EventLog } from '../../../shared/store/event-log.js';

export interface Received {
  causeId: string;
  sessionId?: string;
  decision: DecisionPayload;
}

/**
 * A stand-in for the event-handler's internal WebSocket: checks the bearer token, takes
 * `decide` messages, drops a repeated cause (as the real one does), archives a `decision`
 * event and replies ok.
 */
export async function startFakeHandler(opts: { token: string; events: EventLog; port?: number }) {
  const received: Received[] = [];
  const seen = new Set<string>();
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/ws' || req.headers.authorization !== `Bearer ${opts.token}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString('utf8')) as Received & { op: string; id: string };
        if (msg.op !== 'decide') return;
        void (async () => {
          const key = `${msg.causeId}|${msg.decision.action}`;
          if (!seen.has(key)) {
            seen.add(key);
            received.push({
              causeId: msg.causeId,
              sessionId: msg.sessionId,
              decision: msg.decision,
            });
            await opts.events.append({
              kind: 'decision',
              payload: msg.decision,
              ...(msg.sessionId ? { sessionId: msg.sessionId } : {}),
            });
          }
          ws.send(JSON.stringify({ op: 'reply', id: msg.id, ok: true }));
        })();
      });
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
