import type { DecisionPayload, StoredEvent } from '../../shared/index.js';
import { metricHigherIsBetter, type EffectiveRules } from '../../shared/index.js';
import { evaluatedDecision } from './candidate-rules.js';
import type { EpochPoint, SessionView } from './session-view.js';

/** One decision for the event-handler to carry out, with the event that caused it. */
export interface Decision {
  sessionId?: string;
  /** the handler ignores a second decision with the same cause */
  causeId: string;
  decision: DecisionPayload;
}

/** The model's production generation now; null when it has none. */
export interface ProductionView {
  gen: number;
}

/** Rules for one model: the engine is handed a lookup so per-model overrides apply. */
export type RulesFor = (model: string | undefined) => EffectiveRules;

/**
 * The decision tree, pure. `view` already includes `event` (see `observe`); `production`
 * matters only for `generation.evaluated` events. A `generation.candidate` is decided only
 * when its session was told to stop: otherwise it waits for the platform's evaluation.
 */
export function decide(
  view: SessionView | null,
  event: StoredEvent,
  rulesFor: RulesFor,
  production: ProductionView | null,
): Decision[] {
  const p = (event.payload ?? {}) as Record<string, unknown>;
  switch (event.kind) {
    case 'generation.candidate':
    case 'generation.evaluated':
      // A candidate from a session already told to stop is not accepted behind that stop.
      if (view?.stopDecided) return stoppedCandidate(event, p);
      if (event.kind === 'generation.candidate') return [];
      return evaluatedDecision(event, rulesFor, production?.gen ?? null);
    case 'session.finished':
      return view ? exitDecision(view, event, p, rulesFor(view.model)) : [];
    case 'epoch': {
      if (!view || view.stopDecided || view.finished) return [];
      const rules = rulesFor(view.model);
      const stop = epochStop(view.epochs, rules) ?? budgetStop(view, Date.parse(event.time), rules);
      return stop ? [stopDecision(view, stop.rule, stop.reason, event.id)] : [];
    }
    default:
      return [];
  }
}

/** The time-budget rule on its own, for a clock tick between events. */
export function checkBudget(view: SessionView, nowMs: number, rules: EffectiveRules): Decision[] {
  if (view.stopDecided || view.finished) return [];
  const stop = budgetStop(view, nowMs, rules);
  return stop ? [stopDecision(view, stop.rule, stop.reason, '')] : [];
}

interface StopReason {
  rule: string;
  reason: string;
}

function stopDecision(view: SessionView, rule: string, reason: string, causeId: string): Decision {
  // One budget stop per session, whichever tick or event noticed it first.
  const cause = rule === 'stop.timeBudget' ? `${view.sessionId}:time-budget` : causeId;
  return {
    sessionId: view.sessionId,
    causeId: cause,
    decision: {
      action: 'stop',
      reason,
      rule,
      ...(view.model === undefined ? {} : { model: view.model }),
    },
  };
}

function epochStop(epochs: EpochPoint[], rules: EffectiveRules): StopReason | undefined {
  const { stop } = rules;
  const last = epochs[epochs.length - 1];
  if (!last) return undefined;
  const metric = stop.lossMetric;
  const series = epochs.map((e) => epochValue(e, metric));
  const current = series[series.length - 1];
  if (stop.nanLoss && current !== undefined && Number.isNaN(current)) {
    return { rule: 'stop.nanLoss', reason: `${metric} is NaN at epoch ${last.epoch}` };
  }
  // A higher-is-better figure is watched negated, so 'rose' and 'lowest' mean 'got worse'
  // and 'best' for it too; reasons show the values as reported.
  const higher = metricHigherIsBetter(metric, rules.metrics) === true;
  const sign = higher ? -1 : 1;
  const shown = (v: number) => fmt(sign * v);
  const values = series
    .filter((v): v is number => v !== undefined && !Number.isNaN(v))
    .map((v) => sign * v);
  const k = stop.lossRiseEpochs;
  if (k !== null && values.length > k) {
    const window = values.slice(-(k + 1));
    if (window.every((v, i) => i === 0 || v > window[i - 1]!)) {
      return {
        rule: 'stop.lossRiseEpochs',
        reason:
          `${metric} ${higher ? 'fell' : 'rose'} for ${k} consecutive epochs ` +
          `(${window.map(shown).join(' → ')}) at epoch ${last.epoch}`,
      };
    }
  }
  const pEpochs = stop.plateauEpochs;
  if (pEpochs !== null && values.length > pEpochs) {
    const before = Math.min(...values.slice(0, -pEpochs));
    const recent = Math.min(...values.slice(-pEpochs));
    if (before - recent < stop.plateauMinDelta) {
      return {
        rule: 'stop.plateauEpochs',
        reason:
          `${metric} plateaued: best ${shown(recent)} in the last ${pEpochs} epochs ` +
          `did not improve on ${shown(before)} by ${stop.plateauMinDelta} (epoch ${last.epoch})`,
      };
    }
  }
  return undefined;
}

function budgetStop(
  view: SessionView,
  nowMs: number,
  rules: EffectiveRules,
): StopReason | undefined {
  if (!rules.stop.timeBudget || view.startedAt === undefined || view.timeBudgetS === undefined) {
    return undefined;
  }
  const ranS = (nowMs - view.startedAt) / 1000;
  if (!(ranS > view.timeBudgetS)) return undefined;
  return {
    rule: 'stop.timeBudget',
    reason: `ran ${Math.round(ranS)} s, over its time budget of ${view.timeBudgetS} s`,
  };
}

function exitDecision(
  view: SessionView,
  event: StoredEvent,
  p: Record<string, unknown>,
  rules: EffectiveRules,
): Decision[] {
  if (!rules.flag.nonZeroExit) return [];
  if (rules.flag.ignoreStopped && (p.state === 'stopped' || view.stopDecided)) return [];
  const code = p.exitCode;
  const signal = typeof p.signal === 'string' ? p.signal : undefined;
  const told = typeof p.reason === 'string' ? p.reason : '';
  let reason: string;
  if (typeof code === 'number' && code !== 0) {
    reason = `worker exited with code ${code}${signal ? ` (${signal})` : ''}`;
  } else if (signal) {
    reason = `worker was killed by ${signal}`;
  } else if ((code === null || code === undefined) && p.state === 'failed') {
    // The handler could not read a code (a kill, or a worker it re-adopted): its reason says why.
    reason = 'worker failed without an exit code';
  } else {
    return [];
  }
  // The handler's reason, when it already describes the exit, is the more precise one.
  if (told)
    reason = told.includes(reason) || told.startsWith('worker') ? told : `${reason}: ${told}`;
  return [
    {
      sessionId: view.sessionId,
      causeId: event.id,
      decision: {
        action: 'flag',
        reason,
        rule: 'flag.nonZeroExit',
        ...(view.model === undefined ? {} : { model: view.model }),
      },
    },
  ];
}

function stoppedCandidate(event: StoredEvent, p: Record<string, unknown>): Decision[] {
  if (typeof p.model !== 'string' || typeof p.gen !== 'number') return [];
  return [
    {
      ...(event.sessionId === undefined ? {} : { sessionId: event.sessionId }),
      causeId: event.id,
      decision: {
        action: 'reject',
        reason: `candidate gen ${p.gen} comes from a session that was told to stop`,
        rule: 'accept.sessionStopped',
        model: p.model,
        gen: p.gen,
      },
    },
  ];
}

/** The epoch's value of a figure; undefined when the epoch did not report it. */
function epochValue(e: EpochPoint, metric: string): number | undefined {
  if (metric === 'loss') return e.loss;
  if (metric === 'valLoss') return e.valLoss;
  return e.metrics?.[metric];
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}
