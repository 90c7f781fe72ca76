import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  bearerToken,
  createProbes,
  decodePathSegment,
  Forbidden,
  HandlerClientMessage,
  NotFound,
  parseJson,
  readBody,
  send as sendBytes,
  sendError,
  sendJson,
  SessionId,
  toWsError,
  Unauthorized,
  verifySpareToken,
  verifyWorkerToken,
  wsText,
  type ClusterReport,
  type DependencyCheck,
  type EventFanout,
  type EventIngest,
  type HandlerServerMessage,
  type Logger,
  type Subscriber,
} from '../../shared/index.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DecisionExecutor } from './decision-executor.js';
import type { SessionRunner } from './session-runner.js';
import type { SpareDesk } from './swarm/spare-desk.js';

type Peer = { kind: 'internal' } | { kind: 'worker'; sessionId: string };

/** RFC 6455 close code 1013: the server cannot take the messages now; reconnect later. */
const WS_TRY_AGAIN_LATER = 1013;

export interface HandlerServerDeps {
  log: Logger;
  internalToken: string;
  fanout: EventFanout;
  ingest: EventIngest;
  executor: DecisionExecutor;
  runner: SessionRunner;
  /** what `/readyz` waits on */
  readiness: readonly DependencyCheck[];
  /** `GET /cluster` (internal token): the swarm's nodes and services. @defaultValue local mode */
  cluster?: () => Promise<ClusterReport>;
  /** `GET`/`PUT /sessions/:id/checkpoint` (that session's worker token): its last checkpoint */
  checkpoints: CheckpointStore;
  /** `GET /spares/:id/session` (that spare's token): where warm spares wait (swarm mode) */
  spares?: SpareDesk;
}

function authenticate(header: string | undefined, secret: string): Peer | undefined {
  const token = bearerToken(header);
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
  const internalOnly = (req: http.IncomingMessage) => {
    if (authenticate(req.headers.authorization, d.internalToken)?.kind !== 'internal') {
      throw new Unauthorized('internal token required');
    }
  };
  const route = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/cluster' && req.method === 'GET') {
      internalOnly(req);
      return sendJson(res, 200, d.cluster ? await d.cluster() : { mode: 'local' });
    }
    const ckpt = /^\/sessions\/([^/]+)\/checkpoint$/.exec(url.pathname);
    if (ckpt && ['GET', 'PUT', 'DELETE'].includes(req.method ?? '')) {
      const id = SessionId.parse(decodePathSegment(ckpt[1] ?? '', 'session id'));
      const peer = authenticate(req.headers.authorization, d.internalToken);
      if (!peer) throw new Unauthorized('a worker token or the internal token is required');
      if (peer.kind === 'worker' && peer.sessionId !== id) {
        throw new Forbidden("a worker may only use its own session's checkpoint");
      }
      if (req.method === 'PUT') {
        const bytes = await readBody(req, d.checkpoints.limitBytes);
        await d.checkpoints.save(id, bytes);
        return sendJson(res, 200, { bytes: bytes.length });
      }
      if (req.method === 'DELETE') {
        await d.checkpoints.remove(id);
        return sendJson(res, 200, { removed: true });
      }
      const bytes = await d.checkpoints.load(id);
      if (!bytes) throw new NotFound(`session ${id} has no checkpoint`, { id });
      return sendBytes(res, 200, bytes, { 'content-type': 'application/octet-stream' });
    }
    const spare = /^\/spares\/([^/]+)\/session$/.exec(url.pathname);
    if (spare && req.method === 'GET') {
      const id = decodePathSegment(spare[1] ?? '', 'spare id');
      const token = bearerToken(req.headers.authorization) ?? '';
      if (verifySpareToken(token, d.internalToken) !== id) {
        throw new Unauthorized("this spare's token is required");
      }
      if (!d.spares) throw new NotFound('this event handler keeps no warm spares');
      d.spares.wait(id, req, res);
      return;
    }
    const stop = /^\/sessions\/([^/]+)\/stop$/.exec(url.pathname);
    if (stop && req.method === 'POST') {
      internalOnly(req);
      const reason = url.searchParams.get('reason') ?? 'stopped by request';
      const id = SessionId.parse(decodePathSegment(stop[1] ?? '', 'session id'));
      return sendJson(res, 200, await d.runner.stop(id, reason));
    }
    throw new NotFound(`no route ${req.method} ${url.pathname}`);
  };
  const probes = createProbes({ ready: d.readiness });
  const server = http.createServer((req, res) => {
    if (probes(req, res)) return;
    route(req, res).catch((err: unknown) => sendError(req, res, err, d.log));
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
    // Messages are handled one at a time, so a worker's events reach the archive in its seq
    // order and acks follow that order.
    let chain = Promise.resolve();
    // Set once an event could not be archived: what the socket still delivers is dropped.
    let archiveFailed = false;
    ws.on('message', (raw) => {
      chain = chain
        .then(() => (archiveFailed ? undefined : handle(wsText(raw))))
        .catch((err: unknown) => d.log.warn({ err }, 'ws message failed'));
    });
    ws.on('close', () => d.fanout.unsubscribe(sub));
    ws.on('error', () => ws.terminate());

    async function handle(text: string) {
      let msg: HandlerClientMessage;
      try {
        msg = HandlerClientMessage.parse(parseJson(text, 'message'));
      } catch (err) {
        const { code, message } = toWsError(err, d.log);
        send({ op: 'reply', id: '', ok: false, error: { code, message } });
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
          let eventId: string | null;
          try {
            eventId = await d.ingest.ingest(msg.sessionId, msg.seq, msg.event);
          } catch (err) {
            // The events behind this one must not be archived past it (the script drops any
            // seq at or below the last archived, so the resend would be lost): drop them and
            // close, and the worker resends everything unacked, in order, once it reconnects.
            archiveFailed = true;
            d.log.warn(
              { err, sessionId: msg.sessionId, seq: msg.seq },
              'archiving a worker event failed; closing its socket for a resend',
            );
            ws.close(WS_TRY_AGAIN_LATER, 'event archive unavailable');
            return;
          }
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
            const { code, message } = toWsError(err, d.log);
            send({ op: 'reply', id: msg.id, ok: false, error: { code, message } });
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
