/**
 * Online figures on /metrics: each served model's live generations (production, a running
 * rollout's challenger and shadows, labelled ones) read from their counters in Redis when
 * scraped. The counters are cluster-wide, so every replica reports the same values; use
 * `max by (model, gen)` when summing over replicas.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Keys, Logger } from '../../../shared/index.js';

export interface OnlineMetricsDeps {
  redis: Redis;
  keys: Keys;
  log: Logger;
  /** each served model with its live generations */
  live: () => { model: string; gens: number[] }[];
}

const FIGURES = {
  accuracy: 'online accuracy: right answers over answers with ground truth',
  feedback: 'answers with ground truth',
  shadow_agreement: 'share of mirrored requests whose answer agreed with the client answer',
  error_rate: 'failed answers over answers',
} as const;
type Figure = keyof typeof FIGURES;

export function registerOnlineMetrics(registry: Registry, deps: OnlineMetricsDeps): void {
  let pending: Promise<Map<Figure, [Record<string, string>, number][]>> | undefined;
  // One Redis read per scrape, shared by the gauges' collects.
  const read = () =>
    (pending ??= readAll(deps).finally(() => {
      setImmediate(() => (pending = undefined));
    }));
  for (const [figure, help] of Object.entries(FIGURES) as [Figure, string][]) {
    new Gauge({
      name: `swarmml_online_${figure}`,
      help,
      labelNames: ['model', 'gen'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const [labels, v] of (await read()).get(figure) ?? []) this.set(labels, v);
        } catch (err) {
          deps.log.warn({ err }, 'online figures not readable for /metrics');
        }
      },
    });
  }
}

async function readAll(deps: OnlineMetricsDeps) {
  const pairs = deps.live().flatMap(({ model, gens }) => gens.map((gen) => ({ model, gen })));
  const out = new Map<Figure, [Record<string, string>, number][]>();
  if (pairs.length === 0) return out;
  const p = deps.redis.pipeline();
  for (const { model, gen } of pairs) p.hgetall(deps.keys.modelGenOnline(model, gen));
  const rows = (await p.exec()) ?? [];
  const add = (f: Figure, labels: Record<string, string>, v: number) => {
    if (!out.has(f)) out.set(f, []);
    out.get(f)!.push([labels, v]);
  };
  pairs.forEach(({ model, gen }, i) => {
    const raw = (rows[i]?.[1] ?? {}) as Record<string, string>;
    const n = (k: string) => Number(raw[k] ?? 0);
    const labels = { model, gen: String(gen) };
    if (n('feedback') > 0) {
      add('feedback', labels, n('feedback'));
      if (n('feedbackSqErrSum') === 0 && n('feedbackAbsErrSum') === 0) {
        add('accuracy', labels, n('feedbackCorrect') / n('feedback'));
      }
    }
    if (n('shadowCompared') > 0)
      add('shadow_agreement', labels, n('shadowAgreed') / n('shadowCompared'));
    if (n('requests') > 0) add('error_rate', labels, n('errors') / n('requests'));
  });
  return out;
}
