/**
 * A model group run on serving's own thread (hosting `inline`): a run is a call, with no
 * hand-off to another thread or process at all. onnxruntime-node runs a session synchronously
 * on the thread that calls it, so each batch holds the HTTP thread for the model's time: for
 * micro-models only, where the hand-off costs more than the model (docs/serving.md).
 *
 * It isolates nothing: a JavaScript exception, heap exhaustion or a native crash in the model
 * is serving's own. Opt-in, never chosen by hosting `auto`.
 */
import type { FromWorker, ToWorker } from './protocol.js';
import { ModelRuntime, serializeError, WireFailure } from './model-runtime.js';
import type { WorkerLink } from './worker-link.js';

export class InlineLink implements WorkerLink {
  readonly mode = 'inline' as const;
  private readonly runtime = new ModelRuntime();
  private readonly messageCbs: ((m: unknown, built: boolean) => void)[] = [];
  private readonly exitCbs: ((how: string) => void)[] = [];
  private closed = false;

  get pid(): number {
    return process.pid;
  }

  get open(): boolean {
    return !this.closed;
  }

  send(msg: ToWorker, sent: (err: Error | null) => void): void {
    if (this.closed) {
      sent(new Error('it was stopped'));
      return;
    }
    sent(null);
    void this.answer(msg).then((reply) => {
      if (this.closed) return;
      for (const cb of this.messageCbs) cb(reply, true);
    });
  }

  private async answer(msg: ToWorker): Promise<FromWorker> {
    if (msg.t !== 'fault') return this.runtime.answer(msg);
    const refused = new WireFailure(
      'Unavailable',
      'UNAVAILABLE',
      "hosting inline runs the model on serving's own thread: there is no worker to fault",
    );
    return { t: 'fail', id: msg.id, error: serializeError(refused) };
  }

  onMessage(cb: (msg: unknown, built: boolean) => void): void {
    this.messageCbs.push(cb);
  }

  onExit(cb: (how: string) => void): void {
    this.exitCbs.push(cb);
  }

  onError(): void {
    // Nothing runs apart from serving: its errors are serving's own.
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runtime.close();
    for (const cb of this.exitCbs.splice(0)) cb('stopped');
  }

  kill(): void {
    void this.stop();
  }
}
