/**
 * A model group hosted in a worker thread of this process. Loads and unloads go by message
 * (rare, and the weights are copied once); runs go through shared-memory slots: the request's
 * tensors are copied into a slot, a doorbell word is bumped with `Atomics.notify`, and the
 * answer comes back the same way, watched with `Atomics.waitAsync`. No structured clone, no
 * pipe, no serialisation of tensors.
 *
 * A slot that is new or had to grow is handed over in a message instead of by the doorbell,
 * so the other side never sees a doorbell for a buffer it does not have yet.
 */
import type { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import {
  BELL_REPLY,
  BELL_REQUEST,
  control,
  FREE,
  isSlotMessage,
  readReply,
  REPLY,
  waitAsync,
  writeRequest,
  type SlotMessage,
} from './shared-slots.js';
import type { WorkerLink } from './worker-link.js';

export class ThreadLink implements WorkerLink {
  readonly mode = 'thread' as const;
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly free: number[] = [];
  /** slots holding a request whose answer has not been read */
  private readonly busy = new Set<number>();
  private watching = false;
  private seenReply = 0;
  private exited = false;
  private lastError: (Error & { code?: string }) | undefined;
  private readonly messageCbs: ((m: unknown, built: boolean) => void)[] = [];
  private readonly bells: Int32Array;

  constructor(
    private readonly worker: Worker,
    bells: SharedArrayBuffer,
  ) {
    this.bells = new Int32Array(bells);
    worker.on('message', (m: unknown) => this.onWorkerMessage(m));
    worker.on('error', (err) => (this.lastError = err));
    worker.once('exit', () => (this.exited = true));
  }

  get pid(): number {
    return process.pid;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  get open(): boolean {
    return !this.exited;
  }

  send(msg: ToWorker, sent: (err: Error | null) => void): void {
    if (this.exited) {
      sent(new Error('its thread exited'));
      return;
    }
    if (msg.t !== 'run') {
      this.worker.postMessage(msg);
      sent(null);
      return;
    }
    let index = this.free.pop();
    if (index === undefined) {
      index = this.slots.length;
      this.slots.push(new SharedArrayBuffer(0)); // too small for anything: written anew below
    }
    const before = this.slots[index]!;
    const slot = writeRequest(before, msg);
    this.busy.add(index);
    this.watchReplies();
    if (slot === before) {
      Atomics.add(this.bells, BELL_REQUEST, 1);
      Atomics.notify(this.bells, BELL_REQUEST);
    } else {
      this.slots[index] = slot;
      this.worker.postMessage({ t: 'slot', index, sab: slot } satisfies SlotMessage);
    }
    sent(null);
  }

  onMessage(cb: (msg: unknown, built: boolean) => void): void {
    this.messageCbs.push(cb);
  }

  onExit(cb: (how: string) => void): void {
    this.worker.once('exit', (code) => {
      const err = this.lastError;
      cb(err ? `${err.code ?? err.name}: ${err.message}` : `code ${code}`);
    });
  }

  onError(cb: (err: Error) => void): void {
    this.worker.on('error', cb);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await this.worker.terminate();
  }

  kill(): void {
    void this.worker.terminate();
  }

  private onWorkerMessage(m: unknown): void {
    if (isSlotMessage(m)) {
      // An answer that outgrew its slot came in a bigger one.
      this.slots[m.index] = m.sab;
      if (this.busy.has(m.index)) this.deliver(m.index);
      return;
    }
    for (const cb of this.messageCbs) cb(m, false);
  }

  /** Waits for the reply doorbell while any request is out. */
  private watchReplies(): void {
    if (this.watching || this.busy.size === 0 || this.exited) return;
    this.watching = true;
    const w = waitAsync(this.bells, BELL_REPLY, this.seenReply);
    if (w.async) void w.value.then(() => this.collect());
    else queueMicrotask(() => this.collect());
  }

  private collect(): void {
    this.watching = false;
    // Read before scanning: a reply rung after this read makes the next wait return at once.
    this.seenReply = Atomics.load(this.bells, BELL_REPLY);
    for (const i of this.busy) {
      if (Atomics.load(control(this.slots[i]!), 0) === REPLY) this.deliver(i);
    }
    this.watchReplies();
  }

  private deliver(index: number): void {
    const slot = this.slots[index]!;
    const reply = readReply(slot);
    Atomics.store(control(slot), 0, FREE);
    this.busy.delete(index);
    this.free.push(index);
    const msg: FromWorker =
      'error' in reply
        ? { t: 'fail', id: reply.id, error: reply.error }
        : { t: 'ok', id: reply.id, outputs: reply.outputs };
    for (const cb of this.messageCbs) cb(msg, true);
  }
}
