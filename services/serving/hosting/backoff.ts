/** Restart delays for a crashing model process. */
export interface BackoffPolicy {
  /** first delay @defaultValue 100 (ms) */
  initialMs: number;
  /** cap @defaultValue 5000 (ms) */
  maxMs: number;
  /** a process that lived this long resets the sequence @defaultValue 10000 (ms) */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000, stableMs: 10_000 };

/**
 * The delay before restart number `attempt` (0-based count of crashes in a row),
 * and the next attempt number given how long the process had been up.
 */
export function nextRestart(
  policy: BackoffPolicy,
  attempt: number,
  uptimeMs: number,
): { delayMs: number; attempt: number } {
  const n = uptimeMs >= policy.stableMs ? 0 : attempt;
  return { delayMs: Math.min(policy.maxMs, policy.initialMs * 2 ** n), attempt: n + 1 };
}
