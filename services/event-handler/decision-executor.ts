import type { Redis } from 'ioredis';
import {
  Conflict,
  type DecisionPayload,
  type EventLog,
  type Keys,
  type Logger,
  type ModelRegistry,
  type SessionStore,
} from '../../shared/index.js';
import type { SessionRunner } from './session-runner.js';

/**
 * Carries out the event-listener's decisions: stop a session, promote or reject a
 * generation, flag a worker. Each is archived as a `decision` event with its reason; a
 * second decision with the same cause (a listener replaying after a restart) is ignored.
 * A generation gets one final decision: an accept or reject that finds it already decided
 * (rejected when its session ended, say) is dropped without a `decision` event, so the
 * archive never shows an accept after a rejection.
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
    const archive = () =>
      this.d.events.append({
        ...(sessionId ? { sessionId } : {}),
        kind: 'decision',
        payload: decision,
      });
    if (decision.action === 'accept' || decision.action === 'reject') {
      if (decision.model && decision.gen !== undefined) {
        await this.decideGeneration(decision, decision.model, decision.gen, sessionId, archive);
      } else {
        await archive();
      }
      return;
    }
    await archive();
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
    }
  }

  /**
   * Promotes or rejects a candidate, then archives the decision and its outcome. The registry
   * changes first: the promotion script refuses a rejected generation atomically, so a
   * rejection that lands between the status read and the promotion still wins.
   */
  private async decideGeneration(
    decision: DecisionPayload,
    model: string,
    gen: number,
    sessionId: string | undefined,
    archive: () => Promise<unknown>,
  ): Promise<void> {
    const session = sessionId ? { sessionId } : {};
    const superseded = (status: string) =>
      this.d.log.info(
        { model, gen, status, action: decision.action, reason: decision.reason },
        'decision dropped: the generation was already decided',
      );
    const { status } = await this.d.registry.getGeneration(model, gen);
    // production stays acceptable: a resend after a promotion whose archiving failed.
    const open = decision.action === 'accept' ? ['candidate', 'production'] : ['candidate'];
    if (!open.includes(status)) return superseded(status);
    if (decision.action === 'reject') {
      await this.d.registry.reject(model, gen, decision.reason);
      await archive();
      await this.d.events.append({
        ...session,
        kind: 'generation.rejected',
        payload: { model, gen, reason: decision.reason },
      });
      return;
    }
    let previous: number | null;
    try {
      ({ previous } = await this.d.registry.promote(model, gen));
    } catch (err) {
      if (err instanceof Conflict) return superseded('rejected');
      throw err;
    }
    await archive();
    await this.d.events.append({
      ...session,
      kind: 'generation.promoted',
      payload: { model, gen, previous, reason: decision.reason },
    });
  }
}
