import type { Redis } from 'ioredis';
import type {
  DecisionPayload,
  EventLog,
  Keys,
  Logger,
  ModelRegistry,
  SessionStore,
} from '../../shared/index.js';
import type { SessionRunner } from './session-runner.js';

/**
 * Carries out the event-listener's decisions: stop a session, promote or reject a
 * generation, flag a worker. Each is archived as a `decision` event with its reason; a
 * second decision with the same cause (a listener replaying after a restart) is ignored.
 */
export class DecisionExecutor {
  constructor(
    private readonly d: {
      redis: Redis;
      keys: Keys;
      log: Logger;
      events: EventLog;
      registry: ModelRegistry;
      sessions: SessionStore;
      runner: SessionRunner;
    },
  ) {}

  async execute(m: {
    causeId: string;
    sessionId?: string;
    decision: DecisionPayload;
  }): Promise<{ duplicate: boolean }> {
    const doneKey = this.d.keys.decisionDone(m.causeId, m.decision.action);
    const fresh = await this.d.redis.set(doneKey, '1', 'EX', 7 * 86400, 'NX');
    if (fresh === null) return { duplicate: true };
    try {
      await this.carryOut(m);
    } catch (err) {
      // Not done: let the listener's resend try again.
      await this.d.redis.del(doneKey);
      throw err;
    }
    return { duplicate: false };
  }

  private async carryOut(m: {
    causeId: string;
    sessionId?: string;
    decision: DecisionPayload;
  }): Promise<void> {
    const { decision, sessionId } = m;
    await this.d.events.append({
      ...(sessionId ? { sessionId } : {}),
      kind: 'decision',
      payload: decision,
    });
    switch (decision.action) {
      case 'stop':
        if (sessionId) await this.d.runner.stop(sessionId, decision.reason);
        break;
      case 'flag':
        if (sessionId) {
          await this.d.sessions.addFlag(sessionId, decision.rule ?? 'flagged');
          await this.d.events.append({
            sessionId,
            kind: 'worker.flagged',
            payload: { reason: decision.reason, rule: decision.rule ?? null },
          });
        }
        break;
      case 'accept': {
        if (!decision.model || decision.gen === undefined) break;
        const { previous } = await this.d.registry.promote(decision.model, decision.gen);
        await this.d.events.append({
          ...(sessionId ? { sessionId } : {}),
          kind: 'generation.promoted',
          payload: { model: decision.model, gen: decision.gen, previous, reason: decision.reason },
        });
        break;
      }
      case 'reject':
        if (!decision.model || decision.gen === undefined) break;
        await this.d.registry.reject(decision.model, decision.gen, decision.reason);
        await this.d.events.append({
          ...(sessionId ? { sessionId } : {}),
          kind: 'generation.rejected',
          payload: { model: decision.model, gen: decision.gen, reason: decision.reason },
        });
        break;
    }
  }
}
