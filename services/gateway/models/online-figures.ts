/** A generation's online counters (`Keys.modelGenOnline`) read as figures. Pure. */
import { LATENCY_BUCKETS_MS } from '../../../shared/index.js';

export interface OnlineFigures {
  requests: number;
  errors: number;
  errorRate: number | null;
  latencyMeanMs: number | null;
  /** upper bound of the histogram bucket the quantile falls in */
  p50Ms: number | null;
  p99Ms: number | null;
  shadow: {
    sent: number;
    dropped: number;
    errors: number;
    compared: number;
    agreement: number | null;
  };
  feedback: number;
  /** classifiers: right answers over labelled ones */
  accuracy: number | null;
  /** regressors: from the absolute and squared errors */
  mae: number | null;
  rmse: number | null;
}

/** The latency below which a share `q` of requests fell, as a bucket's upper bound. */
export function histogramQuantile(counters: Record<string, number>, q: number): number | null {
  const total =
    LATENCY_BUCKETS_MS.reduce((n, b) => n + (counters[`lat:${b}`] ?? 0), 0) +
    (counters['lat:+Inf'] ?? 0);
  if (total === 0) return null;
  let seen = 0;
  for (const b of LATENCY_BUCKETS_MS) {
    seen += counters[`lat:${b}`] ?? 0;
    if (seen >= q * total) return b;
  }
  return Infinity;
}

export function onlineFigures(raw: Record<string, string | number>): OnlineFigures {
  const c: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) c[k] = Number(v);
  const n = (f: string) => c[f] ?? 0;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  const feedback = n('feedback');
  const regression = n('feedbackSqErrSum') > 0 || n('feedbackAbsErrSum') > 0;
  return {
    requests: n('requests'),
    errors: n('errors'),
    errorRate: ratio(n('errors'), n('requests')),
    latencyMeanMs: ratio(n('latencyMsSum'), n('requests')),
    p50Ms: histogramQuantile(c, 0.5),
    p99Ms: histogramQuantile(c, 0.99),
    shadow: {
      sent: n('shadowSent'),
      dropped: n('shadowDropped'),
      errors: n('shadowErrors'),
      compared: n('shadowCompared'),
      agreement: ratio(n('shadowAgreed'), n('shadowCompared')),
    },
    feedback,
    accuracy: regression ? null : ratio(n('feedbackCorrect'), feedback),
    mae: regression ? ratio(n('feedbackAbsErrSum'), feedback) : null,
    rmse: regression && feedback > 0 ? Math.sqrt(n('feedbackSqErrSum') / feedback) : null,
  };
}
