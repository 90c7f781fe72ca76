import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  type Logger,
  type HandlerClientMessage,
  type HandlerServerMessage,
} from '../../shared/index.js';
import type { Decision } from './rules-engine.js';

/** Where decisions go; the event-handler carries them out and archives them. */
export interface DecisionSink {
  /** Resolves once the handler has taken the decision (or refused it for good). */
  send(d: Decision): Promise<void>;
  /** Gives up on a decision in flight (it was not taken; the cursor stays before it). */
  close?(): Promise<void>;
}

export interface HandlerClientOptions {
  /** the event-handler's base URL (http or ws); the socket is at `/ws` */
  url: string;
  token: string;
  log: Logger;
  /** how long to wait for a reply before resending (ms) @defaultValue 5000 */
  replyTimeoutMs?: number;
  /** pause between attempts while the handler is away (ms) @defaultValue 500 */
  retryMs?: number;
}

class Closed extends Error {}

// Refusals a resend may cure (a few times); any other refusal is final, and logged. A lost
// connection or reply is retried without limit: the decision must not be dropped.
const TRANSIENT = new Set(['UNAVAILABLE', 'TIMEOUT', 'INTERNAL']);
const MAX_REFUSALS = 10;

type Reply = Extract<HandlerServerMessage, { op: 'reply' }>;

/**
 * Sends decisions over the event-handler's internal WebSocket, one at a time, resending
 * until a reply arrives: the handler drops a second decision for the same cause, so a
 * resend after a lost reply does nothing twice.
 */
export class HandlerClient implements DecisionSink {
  private ws: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private readonly pending = new Map<string, (r: Reply | Error) => void>();
  private closed = false;
  private readonly url: string;
  private readonly replyTimeoutMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: HandlerClientOptions) {
    const u = new URL('/ws', opts.url);
    u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
    this.url = u.toString();
    this.replyTimeoutMs = opts.replyTimeoutMs ?? 5000;
    this.retryMs = opts.retryMs ?? 500;
  }

  async send(d: Decision): Promise<void> {
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Closed('handler client closed');
      const id = randomUUID();
      const msg: HandlerClientMessage = {
        op: 'decide',
        id,
        causeId: d.causeId,
        decision: d.decision,
        ...(d.sessionId === undefined ? {} : { sessionId: d.sessionId }),
      };
      const r = await this.roundTrip(id, msg);
      if (!(r instanceof Error) && r.ok) return;
      if (!(r instanceof Error)) {
        refusals++;
        if (!TRANSIENT.has(r.error?.code ?? '') || refusals >= MAX_REFUSALS) {
          this.opts.log.warn({ causeId: d.causeId, error: r.error }, 'handler refused a decision');
          return;
        }
      }
      const why = r instanceof Error ? r.message : r.error?.message;
      if (attempt === 1 || attempt % 20 === 0) {
        this.opts.log.warn(
          { causeId: d.causeId, attempt, why },
          'decision not delivered; retrying',
        );
      }
      await new Promise((res) => setTimeout(res, this.retryMs));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const settle of this.pending.values()) settle(new Closed('handler client closed'));
    this.pending.clear();
    this.ws?.terminate();
  }

  private async roundTrip(id: string, msg: HandlerClientMessage): Promise<Reply | Error> {
    let ws: WebSocket;
    try {
      ws = await this.socket();
    } catch (err) {
      return err as Error;
    }
    return new Promise<Reply | Error>((resolve) => {
      const timer = setTimeout(() => settle(new Error('no reply in time')), this.replyTimeoutMs);
      const settle = (r: Reply | Error) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      };
      this.pending.set(id, settle);
      ws.send(JSON.stringify(msg), (err) => {
        if (err) settle(err);
      });
    });
  }

  private socket(): Promise<WebSocket> {
    if (this.ws?.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    this.opening ??= new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        headers: { authorization: `Bearer ${this.opts.token}` },
        handshakeTimeout: this.replyTimeoutMs,
      });
      ws.once('open', () => {
        this.ws = ws;
        this.opening = undefined;
        resolve(ws);
      });
      // Registered for the socket's life: an 'error' without a listener would crash us.
      ws.on('error', (err) => {
        if (this.ws === ws) this.opts.log.warn({ err: err.message }, 'handler socket error');
        else {
          this.opening = undefined;
          reject(err);
        }
      });
      ws.on('message', (data: Buffer) => this.onMessage(data.toString('utf8')));
      ws.on('close', () => {
        if (this.ws === ws) this.ws = undefined;
        for (const settle of this.pending.values()) settle(new Error('handler connection closed'));
      });
    });
    return this.opening;
  }

  private onMessage(text: string): void {
    let msg: HandlerServerMessage;
    try {
      msg = JSON.parse(text) as HandlerServerMessage;
    } catch {
      return;
    }
    if (msg.op === 'reply') this.pending.get(msg.id)?.(msg);
  }
}
