import type { LiveEvent } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

export interface LiveSubscription {
  topics: string[];
  onEvent(e: LiveEvent): void;
  /** Replay archived events after this stream id first (no gap after a REST read). */
  since?: string;
  /** Called after a reconnect when there is no stream id to resume from: re-read over REST. */
  resync?(): void;
}

interface Sub extends LiveSubscription {
  /** the newest stream id this subscriber has seen: older or equal ones are repeats */
  lastId?: string;
}

const STREAM_ID = /^\d+-\d+$/;

function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/**
 * Mirrors the gateway's topic routing. The server sends an event once per connection, under
 * the first topic that matched, so the client works out every topic it belongs to itself.
 */
export function topicsOf(e: LiveEvent): string[] {
  const t = ['events'];
  if (e.sessionId) t.push(`session:${e.sessionId}`);
  if (e.kind.startsWith('session.') || e.kind === 'decision' || e.kind === 'worker.flagged')
    t.push('sessions');
  if (e.kind.startsWith('generation.')) t.push('models');
  if (e.kind.startsWith('serving.')) t.push('metrics');
  if (e.kind.startsWith('dataset.')) t.push('datasets');
  return t;
}

/**
 * One WebSocket for the whole page. Pages subscribe to topics; after a dropped connection it
 * reconnects and resubscribes from the oldest stream id any subscriber has seen, so no event
 * is lost, and repeats are dropped per subscriber.
 */
export class LiveClient {
  private ws: WebSocket | undefined;
  private readonly subs = new Set<Sub>();
  private newest: string | undefined;
  private retryMs = 250;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private nextId = 0;
  private everOpen = false;

  constructor(
    private readonly url: string,
    private readonly onStatus: (s: LiveStatus) => void,
  ) {
    this.connect();
  }

  subscribe(s: LiveSubscription): () => void {
    const sub: Sub = { ...s, lastId: s.since ?? this.newest };
    this.subs.add(sub);
    this.send({
      op: 'subscribe',
      id: this.rid(),
      topics: sub.topics,
      ...(s.since ? { since: s.since } : {}),
    });
    return () => {
      this.subs.delete(sub);
      const still = new Set([...this.subs].flatMap((x) => x.topics));
      const gone = sub.topics.filter((t) => !still.has(t));
      if (gone.length > 0) this.send({ op: 'unsubscribe', id: this.rid(), topics: gone });
    };
  }

  /** Drops the socket as a network fault would (the tests use it to check resuming). */
  drop(): void {
    this.ws?.close();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ws?.close();
  }

  private rid(): string {
    return `c${++this.nextId}`;
  }

  private send(m: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private connect(): void {
    this.onStatus(this.everOpen ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 250;
      const reconnect = this.everOpen;
      this.everOpen = true;
      this.onStatus('live');
      this.resubscribe(reconnect);
    };
    ws.onmessage = (m: MessageEvent<string>) => this.onMessage(m.data);
    ws.onclose = () => {
      if (this.ws !== ws || this.closed) return;
      this.onStatus('reconnecting');
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
    };
  }

  private resubscribe(reconnect: boolean): void {
    const topics = [...new Set([...this.subs].flatMap((s) => s.topics))];
    if (topics.length === 0) return;
    const ids = [...this.subs].map((s) => s.lastId).filter((x): x is string => x !== undefined);
    const since = ids.sort(compareIds)[0];
    this.send({ op: 'subscribe', id: this.rid(), topics, ...(since ? { since } : {}) });
    if (reconnect) for (const s of this.subs) if (s.lastId === undefined) s.resync?.();
  }

  private onMessage(text: string): void {
    let m: { op?: string; topic?: string; event?: LiveEvent };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return;
    }
    if (m.op !== 'event' || !m.event) return;
    const e = m.event;
    const archived = STREAM_ID.test(e.id);
    if (archived && (this.newest === undefined || compareIds(e.id, this.newest) > 0))
      this.newest = e.id;
    // Live-only events may go to topics of their own (e.g. delivery channels): keep the sent one too.
    const topics = m.topic ? [m.topic, ...topicsOf(e)] : topicsOf(e);
    for (const s of [...this.subs]) {
      if (!s.topics.some((t) => topics.includes(t))) continue;
      if (archived) {
        if (s.lastId !== undefined && compareIds(e.id, s.lastId) <= 0) continue;
        s.lastId = e.id;
      }
      try {
        s.onEvent(e);
      } catch (err) {
        console.error('live event handler failed', err);
      }
    }
  }
}
