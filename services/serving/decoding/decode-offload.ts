/**
 * Decodes large KServe v2 JSON request bodies in a worker thread. Parsing thousands of JSON
 * numbers costs more than everything else a small model's request does, and on the HTTP
 * thread it caps throughput; in a worker it runs beside the HTTP thread. Small bodies, binary
 * ones, a request that is alone, and any body while the worker is starting are decoded in
 * place, so the worker never adds a start-up wait or a hop to an idle server; a worker that
 * dies is replaced (three deaths turn offloading off).
 */
import type { Worker } from 'node:worker_threads';
import {
  checkJsonDepth,
  reviveError,
  type Logger,
  type SerializedError,
} from '../../../shared/index.js';
import { decodeInfer, type DecodedInfer } from '../protocols/kserve-codec.js';
import { startModuleWorker } from './module-worker.js';

export type DecodeRequest = { id: number; body: Uint8Array };
export type DecodeReply =
  { ready: true } | { id: number; decoded: DecodedInfer } | { id: number; error: SerializedError };

export interface DecodeOffloadOptions {
  /** JSON bodies of at least this many bytes go to the worker; 0 never offloads */
  minBytes: number;
  log: Logger;
}

const MAX_DEATHS = 3;

interface Waiter {
  body: Buffer;
  resolve: (d: DecodedInfer) => void;
  reject: (err: unknown) => void;
}

export class DecodeOffload {
  private worker: Worker | undefined;
  private ready = false;
  private deaths = 0;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();

  constructor(private readonly o: DecodeOffloadOptions) {}

  /** whether bodies are being decoded off the HTTP thread now */
  get active(): boolean {
    return this.ready;
  }

  /**
   * A KServe v2 request body decoded to tensors: in the worker when it is large and `busy`
   * (other requests are being handled: then the HTTP thread has better things to do), else here.
   */
  async kserve(body: Buffer, headerLength: string | undefined, busy = true): Promise<DecodedInfer> {
    // Only the JSON part: binary tensors after it hold any bytes. A header length that does
    // not fit the body is decodeInfer's to refuse.
    const jsonEnd = headerLength === undefined ? body.length : Number(headerLength);
    checkJsonDepth(Number.isInteger(jsonEnd) ? body.subarray(0, jsonEnd) : body.subarray(0, 0));
    const offload =
      busy && headerLength === undefined && this.o.minBytes > 0 && body.length >= this.o.minBytes;
    if (!offload || this.closed || this.deaths >= MAX_DEATHS)
      return decodeInfer(body, headerLength);
    if (!this.ready) {
      this.start();
      return decodeInfer(body, headerLength);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { body, resolve, reject });
      this.worker!.postMessage({ id, body } satisfies DecodeRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    // Its exit handler decodes whatever it still held.
    await this.worker?.terminate();
  }

  private start(): void {
    if (this.worker) return;
    const w = startModuleWorker(new URL('./decode-worker.js', import.meta.url), 'kserve-decode');
    // The HTTP server keeps the process alive; an idle decoder must not.
    w.unref();
    this.worker = w;
    w.on('message', (m: DecodeReply) => {
      if ('ready' in m) {
        this.ready = !this.closed;
        return;
      }
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!waiter) return;
      if ('error' in m) waiter.reject(reviveError(m.error));
      else waiter.resolve(m.decoded);
    });
    w.on('error', (err) => this.o.log.warn({ err }, 'request decoder thread failed'));
    w.on('exit', () => this.died(w));
  }

  /** Bodies the dead worker held are decoded here, so no request fails for it. */
  private died(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.ready = false;
    if (!this.closed && ++this.deaths >= MAX_DEATHS)
      this.o.log.warn('request decoder thread died 3 times: decoding on the HTTP thread');
    for (const [id, waiter] of this.waiting) {
      this.waiting.delete(id);
      try {
        waiter.resolve(decodeInfer(waiter.body, undefined));
      } catch (err) {
        waiter.reject(err);
      }
    }
  }
}
