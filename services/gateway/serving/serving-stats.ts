/**
 * Serving statistics for the dashboard: each replica's Prometheus `/metrics`, read and
 * folded into one JSON summary per model. Counters and histogram buckets add up across
 * replicas and protocols, so quantiles come from the merged histogram.
 */

import type { ModelServingStats, ServingStats } from '../../../shared/index.js';
import { askReplicas } from './ask-replicas.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (comments and timestamps ignored). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

const P = 'swarmml_serving_';

/** Linear interpolation inside the bucket holding quantile `q`, as Prometheus does. */
export function histogramQuantile(q: number, buckets: Map<number, number>): number | null {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const count = buckets.get(le) ?? 0;
    if (count >= rank) {
      // The open top bucket has no upper edge: answer its lower one.
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

interface Acc {
  requests: number;
  errors: number;
  latency: Map<number, number>;
  latencySum: number;
  latencyCount: number;
  batchSum: number;
  batchCount: number;
  restarts: number;
  queueDepth: number;
  drift: number | null;
}

/** Folds the samples of every replica into per-model figures, sorted by model name. */
export function summarise(samples: Iterable<Sample>): ModelServingStats[] {
  const acc = new Map<string, Acc>();
  const of = (model: string): Acc => {
    let a = acc.get(model);
    if (!a) {
      a = {
        requests: 0,
        errors: 0,
        latency: new Map(),
        latencySum: 0,
        latencyCount: 0,
        batchSum: 0,
        batchCount: 0,
        restarts: 0,
        queueDepth: 0,
        drift: null,
      };
      acc.set(model, a);
    }
    return a;
  };
  const restartsByGroup = new Map<string, number>();
  for (const s of samples) {
    if (s.name === `${P}process_restarts_total`) {
      const g = s.labels.group ?? '';
      restartsByGroup.set(g, (restartsByGroup.get(g) ?? 0) + s.value);
      continue;
    }
    const model = s.labels.model;
    if (model === undefined) continue;
    const a = of(model);
    switch (s.name) {
      case `${P}requests_total`:
        a.requests += s.value;
        break;
      case `${P}errors_total`:
        a.errors += s.value;
        break;
      case `${P}request_duration_seconds_bucket`: {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        a.latency.set(le, (a.latency.get(le) ?? 0) + s.value);
        break;
      }
      case `${P}request_duration_seconds_sum`:
        a.latencySum += s.value;
        break;
      case `${P}request_duration_seconds_count`:
        a.latencyCount += s.value;
        break;
      case `${P}batch_size_sum`:
        a.batchSum += s.value;
        break;
      case `${P}batch_size_count`:
        a.batchCount += s.value;
        break;
      case `${P}queue_depth`:
        a.queueDepth += s.value;
        break;
      default:
        if (s.name.includes('drift')) a.drift = Math.max(a.drift ?? -Infinity, s.value);
    }
  }
  // A group label is the model name, or `a+b` for models sharing one process.
  for (const [group, n] of restartsByGroup) {
    for (const model of group.split('+')) of(model).restarts += n;
  }
  const ms = (s: number | null) => (s === null ? null : s * 1000);
  return [...acc.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, a]) => ({
      model,
      requests: a.requests,
      errors: a.errors,
      p50Ms: ms(histogramQuantile(0.5, a.latency)),
      p99Ms: ms(histogramQuantile(0.99, a.latency)),
      meanLatencyMs: a.latencyCount > 0 ? (a.latencySum / a.latencyCount) * 1000 : null,
      batchAvg: a.batchCount > 0 ? a.batchSum / a.batchCount : null,
      restarts: a.restarts,
      queueDepth: a.queueDepth,
      drift: a.drift,
    }));
}

/** Reads every replica's `/metrics` (1 s each at most); an unreachable one is reported, not fatal. */
export async function readServingStats(replicas: URL[], timeoutMs = 1_000): Promise<ServingStats> {
  const answers = await askReplicas(
    replicas,
    '/metrics',
    async (res) => parsePrometheus(await res.text()),
    timeoutMs,
  );
  return {
    time: new Date().toISOString(),
    replicas: answers.map((a) => (a.ok ? { url: a.url, ok: true } : a)),
    // Summed in replica order, not answer order: the same counters give the same means.
    models: summarise(answers.flatMap((a) => (a.ok ? a.value : []))),
  };
}
