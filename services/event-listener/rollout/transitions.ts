/**
 * A rollout's state machine, pure: each function takes the stored state and answers the next
 * one; the controller writes it with a compare-and-set on `revision`.
 *
 *   shadow ──gates pass──▶ canary step 0 ──▶ … ──▶ last step ──gates pass──▶ promoted
 *      └──────────── any gate fails (or an operator aborts) ───────────────▶ rolled-back
 *
 * `mode: 'shadow'` promotes after the shadow phase; `mode: 'canary'` starts at canary step 0.
 */
import {
  DEFAULT_RULES,
  type EffectiveRollout,
  type GateReading,
  type RolloutState,
} from '../../../shared/index.js';
import type { Counters } from './gates.js';

export type Baseline = RolloutState['stepBaseline'];

/** Counters of both generations, keyed by generation number, as stored in `stepBaseline`. */
export function baselineOf(counters: Map<number, Counters>): Baseline {
  const out: Baseline = {};
  for (const [gen, c] of counters) out[String(gen)] = { ...c };
  return out;
}

/** The first state of a rollout of `challenger` against `production`. */
export function initialState(o: {
  model: string;
  challenger: number;
  production: number;
  policy: EffectiveRollout;
  now: number;
  baseline: Baseline;
  reason: string;
}): RolloutState {
  const canaryFirst = o.policy.mode === 'canary';
  return {
    model: o.model,
    revision: 0,
    status: 'running',
    production: o.production,
    challenger: o.challenger,
    shadows: canaryFirst ? [] : [o.challenger],
    phase: canaryFirst ? 'canary' : 'shadow',
    step: 0,
    canaryPercent: canaryFirst ? o.policy.canarySteps[0]! : 0,
    policy: o.policy,
    startedAt: o.now,
    stepStartedAt: o.now,
    stepBaseline: o.baseline,
    startBaseline: o.baseline,
    lastReadings: [],
    reason: o.reason,
  };
}

/** Where a rollout goes when its step's gates all pass: the next step, or 'promote'. */
export function nextStep(s: RolloutState): { phase: 'canary'; step: number } | 'promote' {
  const steps = s.policy.canarySteps;
  if (s.phase === 'shadow') {
    return s.policy.mode === 'shadow' ? 'promote' : { phase: 'canary', step: 0 };
  }
  return s.step + 1 < steps.length ? { phase: 'canary', step: s.step + 1 } : 'promote';
}

/** The state after a passing step: the next step begins now, from these counters. */
export function advanced(
  s: RolloutState,
  to: { phase: 'canary'; step: number },
  readings: GateReading[],
  now: number,
  baseline: Baseline,
): RolloutState {
  return {
    ...s,
    phase: to.phase,
    step: to.step,
    canaryPercent: s.policy.canarySteps[to.step]!,
    // A canary keeps no shadow: the challenger answers its share of live traffic itself.
    shadows: [],
    stepStartedAt: now,
    stepBaseline: baseline,
    lastReadings: readings,
    readAt: now,
  };
}

/** The state once the challenger is to be production; the handler then promotes it. */
export function promoted(s: RolloutState, reason: string, readings: GateReading[], now: number) {
  return {
    ...s,
    status: 'promoted',
    phase: 'done',
    canaryPercent: 100,
    shadows: [],
    lastReadings: readings,
    readAt: now,
    endedAt: now,
    reason,
  } satisfies RolloutState;
}

/** The state once the challenger is out: no traffic, no shadow, production answers all. */
export function ended(
  s: RolloutState,
  status: 'rolled-back' | 'aborted',
  reason: string,
  readings: GateReading[],
  now: number,
): RolloutState {
  return {
    ...s,
    status,
    phase: 'done',
    canaryPercent: 0,
    shadows: [],
    lastReadings: readings,
    readAt: now,
    endedAt: now,
    reason,
  };
}

/** A reading that changes no step: kept so `rollout show` has the latest figures. */
export function read(s: RolloutState, readings: GateReading[], now: number): RolloutState {
  return { ...s, lastReadings: readings, readAt: now };
}

/** A stored policy with every gate filled in (states written elsewhere may leave some out). */
export function fullPolicy(p: RolloutState['policy']): EffectiveRollout {
  return { ...p, gates: { ...DEFAULT_RULES.rollout.gates, ...p.gates } };
}

/** Whether the rollout still routes traffic and reads gates. */
export const isLive = (s: RolloutState) => s.status === 'running' || s.status === 'paused';
