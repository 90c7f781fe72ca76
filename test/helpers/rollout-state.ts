/** A running rollout's state, as tests store it with writeRollout to drive serving's traffic. */
import {
  DEFAULT_ROLLOUT_POLICY,
  type RolloutPolicy,
  type RolloutState,
} from '../../shared/index.js';

/** Generation 1 in production, 2 the challenger, step 0 of a canary unless `over` says else. */
export function runningRollout(
  model: string,
  over: Omit<Partial<RolloutState>, 'policy'> & { policy?: Partial<RolloutPolicy> } = {},
): RolloutState {
  const now = Date.now();
  return {
    model,
    revision: 0,
    status: 'running',
    production: 1,
    challenger: 2,
    shadows: [],
    phase: 'canary',
    step: 0,
    canaryPercent: 0,
    startedAt: now,
    stepStartedAt: now,
    stepBaseline: {},
    lastReadings: [],
    reason: null,
    ...over,
    policy: {
      ...DEFAULT_ROLLOUT_POLICY,
      ...over.policy,
      gates: { ...DEFAULT_ROLLOUT_POLICY.gates, ...over.policy?.gates },
    },
  };
}
