export const SESSION_STATES = [
  'queued',
  'placing',
  'starting',
  'running',
  'succeeded',
  'failed',
  'stopped',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set([
  'succeeded',
  'failed',
  'stopped',
]);

// Any live state may fail or be stopped; progress only moves forward. `placing` may go back
// to `queued` when no node fits yet, and `starting` back to `placing` when a launch is lost.
// A launched session whose worker was lost (or moved) goes back to `queued` to resume from its
// checkpoint.
const NEXT: Record<SessionState, readonly SessionState[]> = {
  queued: ['placing', 'starting', 'failed', 'stopped'],
  placing: ['queued', 'starting', 'failed', 'stopped'],
  starting: ['queued', 'placing', 'running', 'failed', 'stopped'],
  running: ['queued', 'succeeded', 'failed', 'stopped'],
  succeeded: [],
  failed: [],
  stopped: [],
};

/** Whether a session may move from `from` to `to`. Terminal states are final. */
export function canTransition(from: SessionState, to: SessionState): boolean {
  return NEXT[from].includes(to);
}

export function isTerminal(s: SessionState): boolean {
  return TERMINAL_STATES.has(s);
}

export function isSessionState(s: string): s is SessionState {
  return (SESSION_STATES as readonly string[]).includes(s);
}
