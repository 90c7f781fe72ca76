import WebSocket from 'ws';
import type { HandlerServerMessage } from '../protocol/handler-ws.js';
import type { WorkerEvent } from '../protocol/events.js';

/**
 * A worker's line to the event handler. Events are numbered and kept until acked; after a
 * reconnect (the handler restarted, the network blinked) the unacked ones are resent and
 * the handler drops duplicates, so every event is archived exactly once.
 */
export class WorkerReporter {
  private ws: WebSocket | undefined;
  private seq = 0;
  private readonly unacked = new Map<number, WorkerEvent>();
  private readonly drained = new Set<() => void>();
  private closed = false;
  private retryMs = 100;

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
      this.retryMs = 100;
      for (const [seq, event] of this.unacked) this.transmit(seq, event);
    });
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as HandlerServerMessage;
      if (m.op === 'ack') {
        this.unacked.delete(m.seq);
        if (this.unacked.size === 0) for (const d of this.drained) d();
      } else if (m.op === 'reply' && !m.ok) {
        this.onLog(`handler refused a message: ${m.error?.message ?? ''}`);
      }
    });
    ws.on('close', () => {
      if (this.closed) return;
      setTimeout(() => this.connect(), this.retryMs).unref();
      this.retryMs = Math.min(this.retryMs * 2, 2000);
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

  /** Resolves once every event sent so far is acked, or rejects after timeoutMs. */
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
