import WebSocket from 'ws';
import type { HandlerServerMessage } from '../protocol/handler-ws.js';
import type { WorkerEvent } from '../protocol/events.js';

/** The first reconnect waits this long; each one without an ack between doubles it. */
const FIRST_RETRY_MS = 100;
/** @defaultValue the longest wait between two reconnects */
const MAX_RETRY_MS = 5_000;

/**
 * A worker's line to the event handler. Events are numbered and kept until acked; after a
 * reconnect (the handler restarted, the network blinked, or the handler closed the socket
 * because it could not archive an event) the unacked ones are resent in seq order and the
 * handler drops duplicates, so every event is archived exactly once, in order.
 */
export class WorkerReporter {
  private ws: WebSocket | undefined;
  private seq = 0;
  private readonly unacked = new Map<number, WorkerEvent>();
  private readonly drained = new Set<() => void>();
  private closed = false;
  private retryMs = FIRST_RETRY_MS;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly sessionId: string,
    private readonly onLog: (msg: string) => void = () => {},
  ) {}

  start(): void {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url, { headers: { authorization: `Bearer ${this.token}` } });
    this.ws = ws;
    ws.on('open', () => {
      for (const [seq, event] of this.unacked) this.transmit(seq, event);
    });
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as HandlerServerMessage;
      if (m.op === 'ack') {
        // Only an ack shows the handler can archive again: a handler whose Redis is away
        // accepts the connection and closes it at the first event, and must not be hammered.
        this.retryMs = FIRST_RETRY_MS;
        this.unacked.delete(m.seq);
        if (this.unacked.size === 0) for (const d of this.drained) d();
      } else if (m.op === 'reply' && !m.ok) {
        this.onLog(`handler refused a message: ${m.error?.message ?? ''}`);
      }
    });
    ws.on('close', (code, reason) => {
      if (this.closed) return;
      if (code === 1013) this.onLog(`handler asked for a resend later: ${reason.toString()}`);
      // Jitter spreads the reconnects of many workers that lost the same handler.
      const wait = this.retryMs * (0.5 + Math.random() / 2);
      setTimeout(() => this.connect(), wait).unref();
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    });
    ws.on('error', (err) => this.onLog(`handler connection: ${err.message}`));
  }

  private transmit(seq: number, event: WorkerEvent): void {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ op: 'event', sessionId: this.sessionId, seq, event }));
    }
  }

  send(event: WorkerEvent): void {
    const seq = ++this.seq;
    this.unacked.set(seq, event);
    this.transmit(seq, event);
  }

  /**
   * Resolves once every event sent so far is acked, or rejects after timeoutMs; meanwhile
   * the reporter keeps reconnecting and resending.
   */
  async flush(timeoutMs = 30_000): Promise<void> {
    if (this.unacked.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.drained.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.drained.delete(done);
        reject(new Error(`${this.unacked.size} events not acknowledged after ${timeoutMs} ms`));
      }, timeoutMs);
      this.drained.add(done);
    });
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }
}

/** A ws message as text, whatever framing it arrived in. */
export function wsText(raw: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  return Buffer.from(raw).toString('utf8');
}
