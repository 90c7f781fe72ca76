import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  wsText,
  Conflict,
  Forbidden,
  requireRole,
  Unauthorized,
  WsClientMessage,
  parseJson,
  toErrorReply,
  toWsError,
  type EventFanout,
  type Logger,
  type Subscriber,
  type WsServerMessage,
} from '../../../shared/index.js';
import type { Authenticator, SocketCredential } from './authenticate.js';
import type { RevocationSource } from '../auth/revocations.js';
import type { SessionOps } from '../sessions/session-routes.js';

export interface WsHubDeps {
  log: Logger;
  auth: Authenticator;
  fanout: EventFanout;
  sessions: SessionOps;
  /** a KServe v2 infer call through the inference proxy (InferenceProxy.predict) */
  predict(model: string, version: number | undefined, body: unknown): Promise<unknown>;
  /** token revocations from every gateway: their sockets close at once */
  revocations: RevocationSource;
  /**
   * How often every open socket's token is checked again, in ms: the bound on how late an
   * expiry or a revocation whose message this gateway missed closes it. @defaultValue 500
   */
  recheckMs?: number;
}

/** The close code of a socket whose token was revoked or expired (HTTP's 401, in the 4xxx range). */
export const WS_CLOSE_UNAUTHORIZED = 4401;

/** Topics only admins see: security events name what was refused and why. */
const ADMIN_TOPICS = new Set(['security']);

/** setTimeout's longest delay; a later expiry is left to the periodic re-check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Conn {
  ws: WebSocket;
  cred: SocketCredential;
  sub: Subscriber;
  /** false once refused or closed: nothing more is sent or handled */
  open: boolean;
  expiry?: NodeJS.Timeout;
}

/**
 * `/api/v1/ws`: clients subscribe to topics (resuming with `since`), and create, stop and
 * predict with correlated replies. The token comes in the Authorization header, or as
 * `?token=` where a browser cannot set headers. It is held to the same rules as on HTTP for
 * the socket's whole life: every message counts against its rate limit, and the socket
 * closes with 4401 when the token is revoked (on any gateway) or expires.
 */
export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });
  private readonly conns = new Set<Conn>();
  private readonly stopRevocations: () => void;
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;

  constructor(private readonly d: WsHubDeps) {
    this.stopRevocations = d.revocations.onRevoked((id) => {
      for (const c of this.conns) if (c.cred.info.id === id) this.refuse(c, 'API token revoked');
    });
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.d.auth.checkSocket(req).then(
      (cred) => this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, cred)),
      (err: unknown) => {
        const { status, body } = toErrorReply(err, this.d.log);
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify(body)}`,
        );
      },
    );
  }

  private onConnection(ws: WebSocket, cred: SocketCredential): void {
    const { info } = cred;
    const c: Conn = {
      ws,
      cred,
      open: true,
      sub: {
        topics: new Set(),
        send: (topic, event) => {
          // Security events name who asked for what: admins only, whatever the topic.
          if (event.kind.startsWith('security.') && info.role !== 'admin') return;
          this.send(c, { op: 'event', topic, event });
        },
      },
    };
    this.conns.add(c);
    if (info.expires !== undefined) {
      const ms = Date.parse(info.expires) - Date.now();
      if (ms <= MAX_TIMER_MS) {
        c.expiry = setTimeout(() => this.refuse(c, `API token expired at ${info.expires}`), ms);
      }
    }
    this.scheduleRechecks();
    this.send(c, { op: 'hello', role: info.role, server: 'swarmml' });
    ws.on('message', (raw) => {
      void this.handle(c, wsText(raw));
    });
    ws.on('close', () => this.drop(c));
    ws.on('error', () => ws.terminate());
  }

  private send(c: Conn, m: WsServerMessage): void {
    if (c.open && c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(m));
  }

  /** Closes a socket whose token is no longer good; it hears nothing more from here on. */
  private refuse(c: Conn, reason: string): void {
    if (!c.open) return;
    this.drop(c);
    // A close reason is at most 123 bytes.
    c.ws.close(WS_CLOSE_UNAUTHORIZED, Buffer.from(reason).subarray(0, 123).toString());
  }

  private drop(c: Conn): void {
    c.open = false;
    clearTimeout(c.expiry);
    this.d.fanout.unsubscribe(c.sub);
    this.conns.delete(c);
    if (this.conns.size === 0 && this.recheckTimer) {
      clearInterval(this.recheckTimer);
      this.recheckTimer = undefined;
    }
  }

  /**
   * While any socket is open, re-checks every token: expiry, and revocations whose message
   * this gateway missed (its subscriber was away). Lookups are cached for less than this.
   */
  private scheduleRechecks(): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setInterval(() => void this.recheckAll(), this.d.recheckMs ?? 500);
    this.recheckTimer.unref();
  }

  private async recheckAll(): Promise<void> {
    if (this.rechecking) return;
    this.rechecking = true;
    try {
      await Promise.all(
        [...this.conns].map((c) =>
          c.cred.recheck().then(
            () => undefined,
            (err: unknown) => this.recheckFailed(c, err),
          ),
        ),
      );
    } finally {
      this.rechecking = false;
    }
  }

  private recheckFailed(c: Conn, err: unknown): void {
    if (err instanceof Unauthorized) this.refuse(c, err.message);
    // Redis away: no revocation can be stored meanwhile either, so the socket stays.
    else this.d.log.warn({ err, tokenId: c.cred.info.id }, 'WebSocket token re-check failed');
  }

  private async handle(c: Conn, text: string): Promise<void> {
    if (!c.open) return;
    const { info } = c.cred;
    const { sub } = c;
    let id = '';
    try {
      let raw: { id?: unknown } | null = null;
      let unreadable: Error | undefined;
      try {
        raw = parseJson(text, 'message') as { id?: unknown } | null;
      } catch (err) {
        unreadable = err as Error; // a BadInput naming the JSON fault
      }
      if (typeof raw?.id === 'string') id = raw.id.slice(0, 100);
      const refused = await this.recheck(c);
      if (refused) {
        this.send(c, { op: 'reply', id, ok: false, error: toWsError(refused, this.d.log) });
        this.refuse(c, refused.message);
        return;
      }
      // Every message counts, as every HTTP request does, a malformed one too.
      c.cred.take();
      if (unreadable !== undefined) throw unreadable;
      const msg = WsClientMessage.parse(raw);
      let result: unknown;
      switch (msg.op) {
        case 'ping':
          result = { pong: Date.now() };
          break;
        case 'subscribe':
          for (const t of msg.topics) {
            if (ADMIN_TOPICS.has(t) && info.role !== 'admin') {
              throw new Forbidden(`topic ${t} needs the admin role`, {
                role: info.role,
                needs: 'admin',
              });
            }
          }
          // `session:<id>` takes a unique prefix of the id, as the REST routes do (an
          // ambiguous one is refused); an id no session has yet is subscribed as it is.
          for (const t of msg.topics) sub.topics.add(await this.sessionTopic(t));
          await this.d.fanout.subscribe(sub, msg.since);
          result = { topics: [...sub.topics] };
          break;
        case 'unsubscribe':
          for (const t of msg.topics) sub.topics.delete(t);
          result = { topics: [...sub.topics] };
          break;
        case 'create':
          requireRole(info, 'write');
          result = await this.d.sessions.create(msg.session);
          break;
        case 'stop':
          requireRole(info, 'write');
          result = await this.d.sessions.stop(msg.sessionId);
          break;
        case 'predict':
          requireRole(info, 'predict');
          result = await this.d.predict(msg.model, msg.version, msg.request);
          break;
      }
      this.send(c, { op: 'reply', id, ok: true, result });
    } catch (err) {
      this.send(c, { op: 'reply', id, ok: false, error: toWsError(err, this.d.log) });
    }
  }

  /**
   * The token as of now (lookups cached ≤ 1 s): the refusal when it was revoked or expired
   * (or its socket was refused while the lookup ran). Other failures (Redis away) throw.
   */
  /** `session:<prefix>` → `session:<id>`; other topics, and ids no session has, as they are. */
  private async sessionTopic(topic: string): Promise<string> {
    if (!topic.startsWith('session:')) return topic;
    try {
      return `session:${await this.d.sessions.resolveId(topic.slice('session:'.length))}`;
    } catch (err) {
      if (err instanceof Conflict) throw err;
      return topic;
    }
  }

  private async recheck(c: Conn): Promise<Unauthorized | undefined> {
    try {
      await c.cred.recheck();
    } catch (err) {
      if (err instanceof Unauthorized) return err;
      throw err;
    }
    return c.open ? undefined : new Unauthorized('API token revoked');
  }

  close(): void {
    this.stopRevocations();
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
  }
}
