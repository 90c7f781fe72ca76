/**
 * When local mode's supervisor restarts a process that died: after 100 ms, doubling up to
 * 5 s, back to 100 ms once the process has stayed up for 10 s. A process that dies at once
 * every time (a port taken, a config error) is retried every 5 s instead of in a hot loop.
 */
export interface RestartPolicy {
  /** delay before the first restart, in ms @defaultValue 100 */
  initialMs: number;
  /** the longest delay, in ms @defaultValue 5000 */
  maxMs: number;
  /** how long a process must stay up for the next crash to count as a first one, in ms @defaultValue 10000 */
  stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  initialMs: 100,
  maxMs: 5_000,
  stableMs: 10_000,
});

/** The number of the restart that follows a crash after `upMs` of running (1-based). */
export function nextAttempt(previous: number, upMs: number, p: RestartPolicy): number {
  return upMs >= p.stableMs ? 1 : previous + 1;
}

/** How long to wait before restart number `attempt`, in ms. */
export function restartDelay(attempt: number, p: RestartPolicy): number {
  return Math.min(p.initialMs * 2 ** Math.max(0, attempt - 1), p.maxMs);
}

/** "code 1", "signal SIGKILL": how a process ended, for the log. */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `signal ${signal}`;
  return `code ${code ?? 'unknown'}`;
}
