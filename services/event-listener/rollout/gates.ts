/**
 * Gate readings, pure: what a rollout step's online counters say about the challenger
 * against production. Counters are cumulative (serving and the feedback route only ever
 * increment them), so a step reads the difference from the snapshot taken when it began.
 *
 * Which counters mean what (shared/protocol/rollout.ts, ONLINE_FIELDS):
 * - `requests`, `errors`, `lat:<ms>`: every request the generation ran: its live share
 *   (production, or the challenger's canary share) and what was mirrored to it as a shadow;
 * - `shadowSent`, `shadowErrors`, `shadowCompared`, `shadowAgreed`: of those, the mirrored
 *   ones, on the shadow's own hash (serving counts a mirrored request in both);
 * - `feedback`, `feedbackCorrect`: ground truth joined to the generation's answers.
 */
import type { EffectiveRollout, GateReading } from '../../../shared/index.js';

export type Counters = Record<string, number>;

/** Parses an HGETALL answer of `Keys.modelGenOnline` into numbers (absent fields are 0). */
export function parseCounters(h: Record<string, string>): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(h)) {
    const n = Number(v);
    if (Number.isFinite(n)) out[k] = n;
  }
  return out;
}

/** now − then, field by field; a counter that went backwards (reset) counts from 0. */
export function delta(now: Counters, then: Counters | undefined): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(now)) {
    const before = then?.[k] ?? 0;
    out[k] = v >= before ? v - before : v;
  }
  return out;
}

const get = (c: Counters, k: string) => c[k] ?? 0;

/**
 * The latency below which `q` of the histogram's requests fall: the upper bound of the
 * bucket where the cumulative count reaches q·n. Buckets are `lat:<upper ms>` fields, each
 * counting its own requests; a bound that is not a number (`lat:+Inf`) reads as twice the
 * largest finite one. Null with no requests in the histogram.
 */
export function quantileMs(c: Counters, q: number): number | null {
  const buckets: [number, number][] = [];
  let maxFinite = 0;
  for (const [k, v] of Object.entries(c)) {
    if (!k.startsWith('lat:') || v <= 0) continue;
    const bound = Number(k.slice(4));
    if (Number.isFinite(bound)) maxFinite = Math.max(maxFinite, bound);
    buckets.push([Number.isFinite(bound) ? bound : Infinity, v]);
  }
  const n = buckets.reduce((s, [, v]) => s + v, 0);
  if (n === 0) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  let seen = 0;
  for (const [bound, v] of buckets) {
    seen += v;
    if (seen >= q * n) return Number.isFinite(bound) ? bound : 2 * (maxFinite || 5000);
  }
  return buckets[buckets.length - 1]![0];
}

/** Requests the challenger ran in the step: its live share and what was mirrored to it. */
export function stepSamples(challenger: Counters): number {
  return get(challenger, 'requests');
}

export interface StepFigures {
  /** the challenger's live and mirrored requests in the step */
  samples: number;
  challenger: Counters;
  production: Counters;
  /** feedback since the rollout began (ground truth arrives late; a step is too short) */
  challengerSinceStart: Counters;
  productionSinceStart: Counters;
}

export interface GateVerdict {
  readings: GateReading[];
  /** the step has enough samples to count */
  enough: boolean;
  /** the first failing reading, if any */
  failed: GateReading | undefined;
  /** one line per reading with its figures, for events and reasons */
  text: string;
}

const round = (v: number) => Number(v.toPrecision(4));

/**
 * Reads every gate of the policy. A gate with too little data reads `passed: null` and
 * neither passes nor blocks a step; the error, latency and agreement gates count once the
 * step has `minSamples`, the accuracy gate once both generations have `minFeedback` labels
 * since the rollout began.
 */
export function readGates(f: StepFigures, policy: EffectiveRollout): GateVerdict {
  const g = policy.gates;
  const enough = f.samples >= policy.minSamples;
  const readings: GateReading[] = [];
  const notes: string[] = [];
  const judge = (
    gate: string,
    value: number | null,
    threshold: number | null,
    ok: (v: number, t: number) => boolean,
    figures: string,
    counts = enough,
  ) => {
    if (threshold === null) return;
    const passed = value === null || !counts ? null : ok(value, threshold);
    readings.push({ gate, value: value === null ? null : round(value), threshold, passed });
    notes.push(
      `${gate} ${value === null ? 'n/a' : round(value)} (limit ${threshold}; ${figures})` +
        (passed === null ? ' not counted yet' : passed ? ' passed' : ' FAILED'),
    );
  };

  const c = f.challenger;
  const sent = get(c, 'requests');
  const errs = get(c, 'errors');
  judge(
    'errorRate',
    sent > 0 ? errs / sent : null,
    g.maxErrorRate,
    (v, t) => v <= t,
    `${errs} errors in ${sent} requests`,
  );

  const cp99 = quantileMs(c, 0.99);
  const pp99 = quantileMs(f.production, 0.99);
  judge(
    'p99Ratio',
    cp99 !== null && pp99 !== null && pp99 > 0 ? cp99 / pp99 : null,
    g.maxP99Ratio,
    (v, t) => v <= t,
    `p99 ${cp99 ?? 'n/a'} ms against production's ${pp99 ?? 'n/a'} ms`,
  );

  const compared = get(c, 'shadowCompared');
  const agreed = get(c, 'shadowAgreed');
  judge(
    'agreement',
    compared > 0 ? agreed / compared : null,
    g.minAgreement,
    (v, t) => v >= t,
    `${agreed} of ${compared} compared answers agreed`,
  );

  const cf = get(f.challengerSinceStart, 'feedback');
  const pf = get(f.productionSinceStart, 'feedback');
  const cAcc = cf > 0 ? get(f.challengerSinceStart, 'feedbackCorrect') / cf : null;
  const pAcc = pf > 0 ? get(f.productionSinceStart, 'feedbackCorrect') / pf : null;
  const labelled = cf >= g.minFeedback && pf >= g.minFeedback;
  judge(
    'accuracyDrop',
    cAcc !== null && pAcc !== null ? pAcc - cAcc : null,
    g.maxAccuracyDrop,
    (v, t) => v <= t,
    `online accuracy ${cAcc === null ? 'n/a' : round(cAcc)} on ${cf} labels against ` +
      `production's ${pAcc === null ? 'n/a' : round(pAcc)} on ${pf}; ${g.minFeedback} needed each`,
    labelled,
  );

  return {
    readings,
    enough,
    failed: readings.find((r) => r.passed === false),
    text: `${f.samples} samples (${policy.minSamples} needed): ${notes.join('; ')}`,
  };
}
