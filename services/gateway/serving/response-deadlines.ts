/**
 * How long the gateway waits for a replica's answer (its headers) before it gives that
 * replica up and asks another. A replica on a node that died, or a stopped process, keeps its
 * connection open and never answers: without a deadline, every request on a kept-alive
 * connection to it waits for the client's own timeout.
 *
 * The deadline follows each route's observed latency, so a model that normally takes 20 s
 * is not cut at 3 s: `factor` times a slowly decaying maximum of the recent latencies, never
 * under `floorMs` nor over `ceilingMs`; a route with no answer seen yet gets `initialMs`.
 */
export interface ResponseDeadlineOptions {
  /** @defaultValue 3000 */
  floorMs?: number;
  /** @defaultValue 10 */
  factor?: number;
  /** @defaultValue 120000 */
  ceilingMs?: number;
  /** @defaultValue 30000 */
  initialMs?: number;
  /** Per answer, how much of the slowest recent latency is kept. @defaultValue 0.99 */
  decay?: number;
}

/** Routes remembered at most (a model path each); the oldest is forgotten past it. */
const MAX_ROUTES = 1024;

export class ResponseDeadlines {
  private readonly slow = new Map<string, number>();
  private readonly o: Required<ResponseDeadlineOptions>;

  constructor(o: ResponseDeadlineOptions = {}) {
    this.o = {
      floorMs: o.floorMs ?? 3_000,
      factor: o.factor ?? 10,
      ceilingMs: o.ceilingMs ?? 120_000,
      initialMs: o.initialMs ?? 30_000,
      decay: o.decay ?? 0.99,
    };
  }

  /** The deadline (ms) for the headers of an answer on `route`. */
  timeoutFor(route: string): number {
    const seen = this.slow.get(route);
    if (seen === undefined) return this.o.initialMs;
    return Math.min(this.o.ceilingMs, Math.max(this.o.floorMs, seen * this.o.factor));
  }

  /** An answer's headers came after `ms`. */
  observe(route: string, ms: number): void {
    const prev = this.slow.get(route);
    if (prev === undefined && this.slow.size >= MAX_ROUTES) {
      this.slow.delete(this.slow.keys().next().value!);
    }
    this.slow.set(route, Math.max(ms, (prev ?? ms) * this.o.decay));
  }
}

/** The route a deadline is kept for: the path without its query. */
export function routeOf(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}
