import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AppError,
  wsText,
  HandlerClientMessage,
  verifyWorkerToken,
  type ClusterReport,
  type EventFanout,
  type EventIngest,
  type HandlerServerMessage,
  type Logger,
  type Subscriber,
} from '../../shared/index.js';
import type { DecisionExecutor } from './decision-executor.js';
import type { SessionRunner } from './session-runner.js';

type Peer = { kind: 'internal' } | { kind: 'worker'; sessionId: string };

export interface HandlerServerDeps {
  log: Logger;
  internalToken: string;
  fanout: EventFanout;
  ingest: EventIngest;
  executor: DecisionExecutor;
  runner: SessionRunner;
  ready: () => Promise<boolean>;
  /** `GET /cluster` (internal token): the swarm's nodes and services. @defaultValue local mode */
  cluster?: () => Promise<ClusterReport>;
}

function authenticate(header: string | undefined, secret: string): Peer | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
  if (!token) return undefined;
  const a = Buffer.from(token);
  const b = Buffer.from(secret);
  if (a.length === b.length && timingSafeEqual(a, b)) return { kind: 'internal' };
  const sessionId = verifyWorkerToken(token, secret);
  return sessionId ? { kind: 'worker', sessionId } : undefined;
}

/**
 * The event handler's own HTTP + WebSocket server: health, the internal stop route the
 * gateway calls, and `/ws` for workers (events with seq/ack), the event listener
 * (subscribe + decide) and the gateway.
 */
export function createHandlerServer(d: HandlerServerDeps): {
  server: http.Server;
  terminateSockets(): void;
} {
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const ok = await d.ready();
        return json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      }
      if (url.pathname === '/cluster' && req.method === 'GET') {
        if (authenticate(req.headers.authorization, d.internalToken)?.kind !== 'internal') {
          return json(res, 401, { error: 'UNAUTHORIZED', message: 'internal token required' });
        }
        return json(res, 200, d.cluster ? await d.cluster() : { mode: 'local' });
      }
      const stop = /^\/sessions\/([^/]+)\/stop$/.exec(url.pathname);
      if (stop && req.method === 'POST') {
        if (authenticate(req.headers.authorization, d.internalToken)?.kind !== 'internal') {
          return json(res, 401, { error: 'UNAUTHORIZED', message: 'internal token required' });
        }
        const reason = url.searchParams.get('reason') ?? 'stopped by request';
        try {
          return json(res, 200, await d.runner.stop(decodeURIComponent(stop[1] ?? ''), reason));
        } catch (err) {
          const e =
            err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message);
          return json(res, e.status, { error: e.code, message: e.message });
        }
      }
      json(res, 404, { error: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
    })().catch((err: unknown) => {
      d.log.error({ err }, 'handler http error');
      if (!res.headersSent) json(res, 500, { error: 'INTERNAL', message: 'internal error' });
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const peer =
      new URL(req.url ?? '/', 'http://x').pathname === '/ws'
        ? authenticate(req.headers.authorization, d.internalToken)
        : undefined;
    if (!peer) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, peer));
  });

  function onConnection(ws: WebSocket, peer: Peer) {
    const send = (m: HandlerServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const sub: Subscriber = {
      topics: new Set(),
      send: (topic, event) => send({ op: 'event', topic, event }),
    };
    // Messages are handled one at a time so acks follow the order events were sent in.
    let chain = Promise.resolve();
    ws.on('message', (raw) => {
      chain = chain
        .then(() => handle(wsText(raw)))
        .catch((err: unknown) => d.log.warn({ err }, 'ws message failed'));
    });
    ws.on('close', () => d.fanout.unsubscribe(sub));
    ws.on('error', () => ws.terminate());

    async function handle(text: string) {
      let msg: HandlerClientMessage;
      try {
        msg = HandlerClientMessage.parse(JSON.parse(text));
      } catch (err) {
        send({
          op: 'reply',
          id: '',
          ok: false,
          error: { code: 'BAD_INPUT', message: (err as Error).message.slice(0, 500) },
        });
        return;
      }
      switch (msg.op) {
        case 'subscribe': {
          if (peer.kind === 'worker' && msg.topics.some((t) => t !== `session:${peer.sessionId}`)) {
            send({
              op: 'reply',
              id: msg.id ?? '',
              ok: false,
              error: {
                code: 'FORBIDDEN',
                message: 'a worker may only subscribe to its own session',
              },
            });
            return;
          }
          for (const t of msg.topics) sub.topics.add(t);
          await d.fanout.subscribe(sub, msg.since);
          send({ op: 'reply', id: msg.id ?? '', ok: true, result: { topics: [...sub.topics] } });
          return;
        }
        case 'event': {
          if (peer.kind === 'worker' && msg.sessionId !== peer.sessionId) {
            send({
              op: 'reply',
              id: '',
              ok: false,
              error: {
                code: 'FORBIDDEN',
                message: 'a worker may only post its own session events',
              },
            });
            return;
          }
          const eventId = await d.ingest.ingest(msg.sessionId, msg.seq, msg.event);
          send({
            op: 'ack',
            sessionId: msg.sessionId,
            seq: msg.seq,
            ...(eventId ? { eventId } : {}),
          });
          return;
        }
        case 'decide': {
          if (peer.kind !== 'internal') {
            send({
              op: 'reply',
              id: msg.id,
              ok: false,
              error: { code: 'FORBIDDEN', message: 'only services may decide' },
            });
            return;
          }
          try {
            const r = await d.executor.execute(msg);
            send({ op: 'reply', id: msg.id, ok: true, result: r });
          } catch (err) {
            const e =
              err instanceof AppError ? err : new AppError('INTERNAL', (err as Error).message);
            send({
              op: 'reply',
              id: msg.id,
              ok: false,
              error: { code: e.code, message: e.message },
            });
          }
          return;
        }
      }
    }
  }
  return {
    server,
    terminateSockets() {
      // Upgraded sockets are not the HTTP server's any more: server.close() would wait on them.
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
