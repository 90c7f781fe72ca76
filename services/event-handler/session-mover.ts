import type { Logger, SessionRecord, SessionStore } from '../../shared/index.js';
import type { CheckpointStore } from './checkpoint-store.js';

/** What the mover asks of the runner: stop one session so that it resumes on a low node. */
export interface Mover {
  moveToLowPriority(sessionId: string, reason: string): Promise<boolean>;
}

/**
 * Whether a running session is due to move to a low-priority node: it has run longer than
 * `afterS`, is not there already (moved before, or placed there for its budget), and has a
 * checkpoint to resume from (one without would start over: it stays where it is).
 */
export function dueToMove(
  s: Pick<SessionRecord, 'state' | 'started' | 'placement'>,
  checkpointBytes: number,
  afterS: number,
  now: number,
): boolean {
  if (afterS <= 0 || s.state !== 'running' || !s.started || checkpointBytes === 0) return false;
  const constraints = (s.placement as { constraints?: string[] } | undefined)?.constraints ?? [];
  if (constraints.includes('node.labels.priority==low')) return false;
  return now - Date.parse(s.started) > afterS * 1000;
}

/**
 * Checks running sessions every `checkMs` and moves those past `afterS` (the paper moved
 * sessions over 5 hours off the training nodes onto a low-priority one).
 */
export class SessionMover {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly d: {
      log: Logger;
      sessions: SessionStore;
      checkpoints: CheckpointStore;
      runner: Mover;
      afterS: number;
      checkMs: number;
    },
  ) {}

  start(): void {
    if (this.d.afterS <= 0) return;
    this.timer = setInterval(() => void this.check(), this.d.checkMs);
    this.timer.unref();
  }

  /** One pass; returns the ids it moved. */
  async check(now = Date.now()): Promise<string[]> {
    if (this.checking) return [];
    this.checking = true;
    const moved: string[] = [];
    try {
      const { items } = await this.d.sessions.list({ state: 'running', limit: 10_000 });
      for (const s of items) {
        const bytes = await this.d.checkpoints.size(s.id);
        if (!dueToMove(s, bytes, this.d.afterS, now)) continue;
        const reason = `running longer than ${this.d.afterS} s: moved to a low-priority node`;
        if (await this.d.runner.moveToLowPriority(s.id, reason)) moved.push(s.id);
      }
    } catch (err) {
      this.d.log.warn({ err }, 'checking sessions to move failed');
    } finally {
      this.checking = false;
    }
    return moved;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
