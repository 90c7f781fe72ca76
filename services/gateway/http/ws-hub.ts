import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  wsText,
  Forbidden,
  WsClientMessage,
  parseJson,
  roleAllows,
  toErrorReply,
  toWsError,
  type EventFanout,
  type Logger,
  type Subscriber,
  type WsServerMessage,
} from '../../../shared/index.js';
import type { Authenticator } from './authenticate.js';
import type { TokenInfo } from '../auth/token-store.js';
import type { SessionOps } from '../sessions/session-routes.js';

export interface WsHubDeps {
  log: Logger;
  auth: Authenticator;
  fanout: EventFanout;
  sessions: SessionOps;
  /** a KServe v2 infer call through the inference proxy (InferenceProxy.predict) */
  predict(model: string, version: number | undefined, body: unknown): Promise<unknown>;
}

/** Topics only admins see: security events name what was refused and why. */
const ADMIN_TOPICS = new Set(['security']);

/**
 * `/api/v1/ws`: clients subscribe to topics (resuming with `since`), and create, stop and
 * predict with correlated replies. The token comes in the Authorization header, or as
 * `?token=` where a browser cannot set headers.
 */
export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });

  constructor(private readonly d: WsHubDeps) {}

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.d.auth.check(req, 'read').then(
      (info) => this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, info)),
      (err: unknown) => {
        const { status, body } = toErrorReply(err, this.d.log);
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify(body)}`,
        );
      },
    );
  }

  private onConnection(ws: WebSocket, info: TokenInfo): void {
    const send = (m: WsServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const sub: Subscriber = {
      topics: new Set(),
      send: (topic, event) => {
        // Security events name who asked for what: admins only, whatever the topic.
        if (event.kind.startsWith('security.') && info.role !== 'admin') return;
        send({ op: 'event', topic, event });
      },
    };
    send({ op: 'hello', role: info.role, server: 'swarmml' });
    ws.on('message', (raw) => {
      void this.handle(wsText(raw), info, sub, send);
    });
    ws.on('close', () => this.d.fanout.unsubscribe(sub));
    ws.on('error', () => ws.terminate());
  }

  private async handle(
    text: string,
    info: TokenInfo,
    sub: Subscriber,
    send: (m: WsServerMessage) => void,
  ) {
    let id = '';
    try {
      const raw = parseJson(text, 'message') as { id?: unknown } | null;
      if (typeof raw?.id === 'string') id = raw.id;
      const msg = WsClientMessage.parse(raw);
      let result: unknown;
      switch (msg.op) {
        case 'ping':
          result = { pong: Date.now() };
          break;
        case 'subscribe':
          for (const t of msg.topics) {
            if (ADMIN_TOPICS.has(t) && info.role !== 'admin')
              throw new Forbidden(`topic ${t} needs the admin role`);
          }
          for (const t of msg.topics) sub.topics.add(t);
          await this.d.fanout.subscribe(sub, msg.since);
          result = { topics: [...sub.topics] };
          break;
        case 'unsubscribe':
          for (const t of msg.topics) sub.topics.delete(t);
          result = { topics: [...sub.topics] };
          break;
        case 'create':
          this.need(info, 'write');
          result = await this.d.sessions.create(msg.session);
          break;
        case 'stop':
          this.need(info, 'write');
          result = await this.d.sessions.stop(msg.sessionId);
          break;
        case 'predict':
          this.need(info, 'predict');
          result = await this.d.predict(msg.model, msg.version, msg.request);
          break;
      }
      send({ op: 'reply', id, ok: true, result });
    } catch (err) {
      send({ op: 'reply', id, ok: false, error: toWsError(err, this.d.log) });
    }
  }

  private need(info: TokenInfo, perm: 'write' | 'predict') {
    if (!roleAllows(info.role, perm)) throw new Forbidden(`role ${info.role} may not ${perm}`);
  }

  close(): void {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
