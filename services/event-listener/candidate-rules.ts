/**
 * The accept rules, pure: a candidate is judged on what the platform measured on held-out
 * rows (`generation.evaluated`), never on what its registrant reported. In order: an
 * evaluation that failed, a reported figure that overstates the measured one (flag and
 * reject), the metric's bounds, the trivial baseline, then production on the same rows,
 * with a tie-break and an optional significance test.
 */
import {
  EvaluatedPayload,
  HIGHER_IS_BETTER,
  REPORTED_NAMES,
  mcnemarExactP,
  type EffectiveRules,
  type MeasuredMetric,
  type StoredEvent,
} from '../../shared/index.js';
import type { Decision } from './rules-engine.js';

type AcceptRules = EffectiveRules['accept'];

/** Two figures closer than this are a tie (accuracies of the same rows tie exactly). */
const TIE = 1e-12;

/** The measured figure a rule names, for a model of this task. */
export function resolveMetric(
  name: AcceptRules['metric'] | null,
  task: 'classification' | 'regression' | undefined,
  fallback: { classification: MeasuredMetric; regression: MeasuredMetric },
): MeasuredMetric {
  if (name === 'valAccuracy') return 'accuracy';
  if (name === 'valLoss') return 'logLoss';
  if (name === null || name === 'auto') return fallback[task ?? 'classification'];
  return name;
}

/**
 * Whether an evaluation was run against another production generation than the one in
 * force now (or against one while there is none now): its comparison does not hold.
 */
export function isStale(p: EvaluatedPayload, productionGen: number | null): boolean {
  if (productionGen === p.gen) return false;
  return (p.against?.gen ?? null) !== productionGen;
}

export function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/**
 * The decisions for one `generation.evaluated` event. `productionGen` is the production
 * generation now; the caller re-evaluates a stale evaluation (see {@link isStale}) instead.
 */
export function evaluatedDecision(
  event: StoredEvent,
  rulesFor: (model: string) => EffectiveRules,
  productionGen: number | null,
): Decision[] {
  const parsed = EvaluatedPayload.safeParse(event.payload);
  if (!parsed.success) return [];
  const p = parsed.data;
  if (productionGen === p.gen) return [];
  const { accept } = rulesFor(p.model);
  const emit = (action: 'accept' | 'reject' | 'flag', rule: string, reason: string): Decision => ({
    ...(event.sessionId === undefined ? {} : { sessionId: event.sessionId }),
    causeId: event.id,
    decision: { action, reason, rule, model: p.model, gen: p.gen },
  });
  const rows = p.rows
    ? `${p.rows.dataset}@${p.rows.version} (${p.rows.count} held-out rows${p.rows.split === 'default' ? ', default split' : ''})`
    : 'no rows';
  if (p.error !== undefined) {
    return [emit('reject', 'accept.evaluation', `gen ${p.gen} could not be evaluated: ${p.error}`)];
  }
  const metric = resolveMetric(accept.metric, p.task, {
    classification: 'accuracy',
    regression: 'rmse',
  });
  const higher = accept.higherIsBetter ?? HIGHER_IS_BETTER[metric];
  const value = p.metrics[metric];
  const measured = `measured ${metric} ${typeof value === 'number' ? fmt(value) : 'none'} on ${rows}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return [
      emit('reject', 'accept.metric', `gen ${p.gen}: no finite ${metric} was measured on ${rows}`),
    ];
  }

  const overstated = overstatement(p, accept, metric, higher);
  if (overstated) {
    const reason = `${overstated}; the candidate is judged on what was measured`;
    return [
      emit('flag', 'accept.reportedMismatch', reason),
      emit('reject', 'accept.reportedMismatch', reason),
    ];
  }
  if (accept.minValue !== null && value < accept.minValue) {
    return [
      emit('reject', 'accept.minValue', `${measured} is below the minimum ${accept.minValue}`),
    ];
  }
  if (accept.maxValue !== null && value > accept.maxValue) {
    return [
      emit('reject', 'accept.maxValue', `${measured} is above the maximum ${accept.maxValue}`),
    ];
  }

  const base = baselineCheck(p, accept);
  if (base.fails) return [emit('reject', 'accept.baseline', `${base.text} on ${rows}`)];

  if (productionGen === null) {
    return [
      emit(
        'accept',
        'accept.noProduction',
        `${measured}; ${base.text}; no production generation to beat`,
      ),
    ];
  }
  const against = p.against;
  const prod = against?.metrics[metric];
  if (
    !against ||
    against.error !== undefined ||
    typeof prod !== 'number' ||
    !Number.isFinite(prod)
  ) {
    const why = against?.error ?? `no ${metric} was measured for it`;
    return [
      emit(
        'accept',
        'accept.productionNotComparable',
        `${measured}; ${base.text}; production gen ${productionGen} cannot be compared on these rows (${why})`,
      ),
    ];
  }
  const gain = higher ? value - prod : prod - value;
  const vs = `production gen ${against.gen} (${fmt(prod)} on the same rows)`;
  const direction = higher ? 'higher' : 'lower';
  if (Math.abs(gain) <= TIE) return tieDecision(p, accept, productionGen, measured, vs, emit);
  if (gain > accept.margin) {
    const sig = significance(p, accept, metric, higher);
    if (sig && !sig.passed) {
      return [
        emit(
          'reject',
          'accept.significance',
          `${measured} beats ${vs} by ${fmt(gain)}, but ${sig.text}`,
        ),
      ];
    }
    return [
      emit(
        'accept',
        'accept.margin',
        `${measured} beats ${vs} by ${fmt(gain)}${sig ? `; ${sig.text}` : ''}; ${base.text}`,
      ),
    ];
  }
  const margin = accept.margin > 0 ? ` by more than the margin ${accept.margin}` : '';
  return [
    emit(
      'reject',
      'accept.margin',
      `${measured} does not beat ${vs}${margin} (${direction} is better)`,
    ),
  ];
}

/** Why a reported figure overstates the measured one beyond the tolerance, if it does. */
function overstatement(
  p: EvaluatedPayload,
  accept: AcceptRules,
  metric: MeasuredMetric,
  higher: boolean,
): string | undefined {
  if (accept.reportedTolerance === null) return undefined;
  // The deciding figure, and accuracy for classifiers: what trainers report everywhere.
  const checked: [MeasuredMetric, boolean][] = [[metric, higher]];
  if (p.task === 'classification' && metric !== 'accuracy') checked.push(['accuracy', true]);
  for (const [m, up] of checked) {
    const measured = p.metrics[m];
    if (typeof measured !== 'number' || !Number.isFinite(measured)) continue;
    for (const name of REPORTED_NAMES[m]) {
      const reported = p.reported[name];
      if (typeof reported !== 'number') continue;
      const over = Number.isFinite(reported)
        ? up
          ? reported - measured
          : measured - reported
        : Infinity;
      if (over > accept.reportedTolerance) {
        return (
          `reported ${name} ${fmt(reported)} but measured ${m} ${fmt(measured)} on ` +
          `${p.rows?.dataset}@${p.rows?.version} (${p.rows?.count} held-out rows): ` +
          `overstated by ${fmt(over)}, over the tolerance ${accept.reportedTolerance}`
        );
      }
    }
  }
  return undefined;
}

/** The trivial baseline's check: accuracy for classifiers, R² for regression. */
function baselineCheck(p: EvaluatedPayload, accept: AcceptRules): { fails: boolean; text: string } {
  const b = p.baseline;
  const m = p.task === 'regression' ? 'r2' : 'accuracy';
  const value = p.metrics[m];
  const baseValue = b?.metrics[m];
  if (!b || typeof baseValue !== 'number' || !Number.isFinite(baseValue)) {
    return { fails: false, text: 'no baseline could be measured' };
  }
  const what =
    b.kind === 'majority-class'
      ? `the majority-class baseline (always class ${b.value}${b.label !== undefined ? ` "${b.label}"` : ''}: accuracy ${fmt(baseValue)})`
      : `the training-mean baseline (always ${fmt(b.value)}: R² ${fmt(baseValue)})`;
  if (accept.baselineMargin === null) return { fails: false, text: `${what}; baseline check off` };
  const v = typeof value === 'number' ? value : NaN;
  const gain = v - baseValue;
  if (gain > accept.baselineMargin) {
    return { fails: false, text: `${m} ${fmt(v)} beats ${what} by ${fmt(gain)}` };
  }
  return {
    fails: true,
    text: `${m} ${fmt(v)} does not beat ${what} by more than ${accept.baselineMargin}`,
  };
}

function tieDecision(
  p: EvaluatedPayload,
  accept: AcceptRules,
  productionGen: number,
  measured: string,
  vs: string,
  emit: (action: 'accept' | 'reject', rule: string, reason: string) => Decision,
): Decision[] {
  if (accept.tieBreak === null) {
    return [emit('reject', 'accept.tieBreak', `${measured} ties ${vs}, and no tie-break is set`)];
  }
  const tb = resolveMetric(accept.tieBreak, p.task, {
    classification: 'logLoss',
    regression: 'mae',
  });
  const up = HIGHER_IS_BETTER[tb];
  const c = p.metrics[tb];
  const q = p.against?.metrics[tb];
  if (
    typeof c !== 'number' ||
    typeof q !== 'number' ||
    !Number.isFinite(c) ||
    !Number.isFinite(q)
  ) {
    return [
      emit(
        'reject',
        'accept.tieBreak',
        `${measured} ties ${vs}; the tie-break ${tb} was not measured for both`,
      ),
    ];
  }
  const better = up ? c > q : c < q;
  const text = `${measured} ties ${vs}; tie-break ${tb} ${fmt(c)} against production gen ${productionGen}'s ${fmt(q)} (${up ? 'higher' : 'lower'} is better)`;
  return [emit(better ? 'accept' : 'reject', 'accept.tieBreak', text)];
}

/** The significance test the rules ask for, or undefined when none applies to these rows. */
function significance(
  p: EvaluatedPayload,
  accept: AcceptRules,
  metric: MeasuredMetric,
  higher: boolean,
): { passed: boolean; text: string } | undefined {
  const s = accept.significance;
  if (s.test === 'none') return undefined;
  const n = p.rows?.count ?? 0;
  if (s.maxRows !== null && n > s.maxRows) return undefined;
  const mc = p.paired?.mcnemar;
  if (s.test === 'mcnemar' && metric === 'accuracy' && mc) {
    const pv = mcnemarExactP(mc.b, mc.c);
    const passed = pv <= s.alpha;
    return {
      passed,
      text: `McNemar's exact test (one-sided, ${mc.b} rows only the candidate gets right, ${mc.c} only production): p=${fmt(pv)} ${passed ? '≤' : '>'} ${s.alpha}`,
    };
  }
  // McNemar tests accuracy only; any other figure gets the bootstrap interval.
  const q = p.paired?.bootstrap?.quantiles[metric];
  const bound = q?.[String(higher ? s.alpha : 1 - s.alpha)];
  if (bound === undefined || !Number.isFinite(bound)) {
    return { passed: false, text: `the ${s.test} test was asked for but not measured` };
  }
  const passed = higher ? bound > 0 : bound < 0;
  const side = higher ? 'lower' : 'upper';
  return {
    passed,
    text: `bootstrap (${p.paired!.bootstrap!.resamples} resamples): the ${side} ${fmt((1 - s.alpha) * 100)}% bound of the ${metric} difference is ${fmt(bound)}, ${passed ? '' : 'not '}clear of 0`,
  };
}
