import type { Logger } from '../runtime/logger.js';
import type { EventLog, StoredEvent } from '../store/index.js';

/** Topics an event belongs to: everything, its session, and its family. */
export function topicsOf(e: StoredEvent): string[] {
  const t = ['events'];
  if (e.sessionId) t.push(`session:${e.sessionId}`);
  if (e.kind.startsWith('session.') || e.kind === 'decision' || e.kind === 'worker.flagged') {
    t.push('sessions');
  }
  if (e.kind.startsWith('generation.')) t.push('models');
  if (e.kind.startsWith('serving.')) t.push('metrics');
  if (e.kind.startsWith('dataset.')) t.push('datasets');
  return t;
}

/** Orders Redis Stream ids ("ms-seq"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

export interface Subscriber {
  topics: Set<string>;
  send(topic: string, e: StoredEvent): void;
}

/**
 * One tail of the event archive per process, fanned out to many subscribers by topic.
 * A subscriber that asks for `since` gets the archived events after that id first, then
 * live ones, with nothing missed or repeated at the seam.
 */
export class EventFanout {
  private readonly subs = new Set<Subscriber>();
  /** the subscribe calls of each subscriber, chained */
  private readonly attaching = new WeakMap<Subscriber, Promise<void>>();
  /** unsubscribed for good (the connection closed): nothing may add them back */
  private readonly gone = new WeakSet<Subscriber>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    let last = '$';
    while (!this.abort.signal.aborted) {
      try {
        for await (const e of this.log.tail(last, this.abort.signal)) {
          last = e.id;
          this.dispatch(e);
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.logger.warn({ err }, 'event tail failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private dispatch(e: StoredEvent): void {
    const topics = topicsOf(e);
    for (const s of this.subs) {
      const t = topics.find((x) => s.topics.has(x));
      if (t) s.send(t, e);
    }
  }

  /**
   * Adds a subscriber, or widens one already added (its `topics` grew). With `since`, replays
   * archived events after it before any live one; live events arriving meanwhile are
   * buffered and de-duplicated against the replay. Calls for one subscriber run one after
   * another, and none of its live events is sent while a replay runs. (A second `since`
   * asked for while a replay runs can still see events of its topic sent by the first
   * replay, which the scan picks up from the shared `topics`.) A subscriber unsubscribed
   * stays out, even if a subscribe of a closed connection is handled late.
   */
  subscribe(s: Subscriber, since?: string): Promise<void> {
    const next = (this.attaching.get(s) ?? Promise.resolve()).then(() => this.attach(s, since));
    this.attaching.set(
      s,
      next.catch(() => undefined),
    );
    return next;
  }

  private async attach(s: Subscriber, since: string | undefined): Promise<void> {
    if (this.gone.has(s)) return;
    if (!since) {
      this.subs.add(s);
      return;
    }
    // All of the subscriber's live events go through the buffer while the replay runs, the
    // topics it already had included: a newer live event sent first would make a client
    // that drops repeats by id also drop the older replayed ones.
    this.subs.delete(s);
    const buffered: [string, StoredEvent][] = [];
    const proxy: Subscriber = { topics: s.topics, send: (t, e) => buffered.push([t, e]) };
    this.subs.add(proxy);
    let last = since;
    try {
      for (;;) {
        const page = await this.log.range({ from: `(${last}`, count: 500 });
        for (const e of page) {
          if (this.gone.has(s)) return; // closed mid-replay: the finally keeps it out
          const t = topicsOf(e).find((x) => s.topics.has(x));
          if (t) s.send(t, e);
          last = e.id;
        }
        if (page.length < 500) break;
      }
    } finally {
      // Synchronous swap: no live event can slip between the buffer and the subscriber.
      this.subs.delete(proxy);
      if (!this.gone.has(s)) {
        this.subs.add(s);
        for (const [t, e] of buffered) if (compareStreamIds(e.id, last) > 0) s.send(t, e);
      }
    }
  }

  /** Removes a subscriber for good (its connection closed), a replay under way included. */
  unsubscribe(s: Subscriber): void {
    this.gone.add(s);
    this.subs.delete(s);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.subs.clear();
  }
}
