/**
 * Runs staged rollouts (docs/rollout.md). Everything it knows is in Redis: the state
 * (`Keys.modelRollout`, rewritten only by compare-and-set on its revision), the labels and
 * the online counters. So any number of listeners may run this loop, and one that restarts
 * picks each rollout up where the state says: a transition is taken by whichever copy wins
 * the compare-and-set, and only the winner archives its event and sends its decision.
 *
 * The registry is changed through the event-handler, as for every other decision: the
 * promotion is an `accept` and the rollback a `reject`, each with a cause id fixed per
 * rollout and outcome, so a resend (after a crash between the state write and the send, or
 * from a second listener's reconcile) is dropped by the handler and nothing is promoted twice.
 */
import type { Redis } from 'ioredis';
import {
  NotFound,
  readLabels,
  readRollout,
  writeLabel,
  writeRollout,
  type EffectiveRules,
  type EventLog,
  type GateReading,
  type Keys,
  type Logger,
  type ModelRegistry,
  type RolloutState,
} from '../../../shared/index.js';
import type { DecisionSink } from '../handler-client.js';
import type { Decision } from '../rules-engine.js';
import { delta, parseCounters, readGates, stepSamples, type Counters } from './gates.js';
import {
  advanced,
  baselineOf,
  ended,
  fullPolicy,
  initialState,
  isLive,
  nextStep,
  promoted,
  read,
} from './transitions.js';

export interface RolloutDeps {
  redis: Redis;
  keys: Keys;
  log: Logger;
  events: Pick<EventLog, 'append'>;
  registry: Pick<ModelRegistry, 'getGeneration' | 'getProduction'>;
  sink: DecisionSink;
  rulesFor: (model: string) => EffectiveRules;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** The cause id of a rollout's final decision: one per rollout and outcome. */
export const rolloutCause = (
  s: Pick<RolloutState, 'model' | 'challenger' | 'startedAt'>,
  what: string,
) => `rollout:${s.model}:${s.challenger}:${s.startedAt}:${what}`;

export class RolloutController {
  private readonly now: () => number;
  /** finished rollouts (model, start, revision) found settled: not re-read every tick */
  private readonly settled = new Set<string>();

  constructor(private readonly d: RolloutDeps) {
    this.now = d.now ?? Date.now;
  }

  /**
   * An accepted candidate of a model that has a production generation: starts its rollout
   * and answers true, or answers false when the policy says `direct` (the caller promotes).
   * A running rollout of an older challenger is superseded (that challenger is rejected); a
   * candidate older than the running challenger is rejected instead. A replay of the same
   * acceptance changes nothing.
   */
  async start(accept: Decision, production: number): Promise<boolean> {
    const model = accept.decision.model!;
    const gen = accept.decision.gen!;
    const policy = this.d.rulesFor(model).rollout;
    if (policy.mode === 'direct') return false;
    for (;;) {
      const cur = await readRollout(this.d.redis, this.d.keys, model);
      if (cur?.challenger === gen) return true;
      if (cur && isLive(cur) && cur.challenger > gen) {
        await this.decide(
          cur,
          'reject',
          'rollout.superseded',
          `superseded:${gen}`,
          gen,
          `gen ${gen} was accepted (${accept.decision.reason}), but the newer gen ${cur.challenger} is already in rollout`,
        );
        return true;
      }
      const now = this.now();
      const baseline = baselineOf(await this.counters(model, [production, gen]));
      const next = initialState({
        model,
        challenger: gen,
        production,
        policy,
        now,
        baseline,
        reason: accept.decision.reason,
      });
      const stored = await writeRollout(
        this.d.redis,
        this.d.keys,
        model,
        next,
        cur?.revision ?? null,
      );
      if (stored === 'conflict' || stored === null) continue;
      await this.label(model, 'stable', production);
      await this.label(model, 'canary', gen);
      if (cur && isLive(cur)) {
        await this.d.events.append({
          kind: 'rollout.superseded',
          payload: { model, gen: cur.challenger, by: gen, production: cur.production },
        });
        await this.decide(
          cur,
          'reject',
          'rollout.superseded',
          'superseded',
          cur.challenger,
          `gen ${cur.challenger}'s rollout was superseded by the newer accepted gen ${gen}`,
        );
      }
      await this.d.events.append({
        ...(accept.sessionId === undefined ? {} : { sessionId: accept.sessionId }),
        kind: 'rollout.started',
        payload: {
          model,
          gen,
          production,
          phase: stored.phase,
          canaryPercent: stored.canaryPercent,
          policy,
          reason: accept.decision.reason,
        },
      });
      this.d.log.info({ model, gen, production, phase: stored.phase }, 'rollout started');
      return true;
    }
  }

  /** One pass over every model's rollout: reconcile, then read gates where they are due. */
  async tick(models: string[]): Promise<void> {
    for (const model of models) {
      try {
        await this.step(model);
      } catch (err) {
        this.d.log.warn({ model, err: String(err) }, 'rollout step failed; retried next tick');
      }
    }
  }

  /** Moves one model's rollout on, if anything is due. */
  async step(model: string): Promise<void> {
    const s = await readRollout(this.d.redis, this.d.keys, model);
    if (!s) return;
    if (!isLive(s)) return this.settle(s);
    const status = await this.status(model, s.challenger);
    const prod = (await this.production(model)) ?? null;
    if (status === 'production') {
      // Promoted already (its state write lost to a crash, or by hand): record it.
      return this.finish(
        s,
        promoted(s, `gen ${s.challenger} is production`, s.lastReadings, this.now()),
        'rollout.promoted',
      );
    }
    if (status !== 'candidate' || prod !== s.production) {
      const why =
        status !== 'candidate'
          ? `gen ${s.challenger} is ${status ?? 'gone'}`
          : `production changed to gen ${prod ?? 'none'} outside the rollout`;
      return this.finish(
        s,
        { ...ended(s, 'aborted', why, s.lastReadings, this.now()), by: 'listener' },
        'rollout.aborted',
      );
    }
    if (s.status === 'paused') return;
    const now = this.now();
    if (now - (s.readAt ?? s.stepStartedAt) < s.policy.stepIntervalS * 1000) return;
    const gens = [s.production!, s.challenger];
    const counters = await this.counters(model, gens);
    const at = (b: RolloutState['stepBaseline'] | undefined, g: number) => b?.[String(g)];
    const c = delta(counters.get(s.challenger)!, at(s.stepBaseline, s.challenger));
    const verdict = readGates(
      {
        samples: stepSamples(c),
        challenger: c,
        production: delta(counters.get(s.production!)!, at(s.stepBaseline, s.production!)),
        challengerSinceStart: delta(
          counters.get(s.challenger)!,
          at(s.startBaseline ?? s.stepBaseline, s.challenger),
        ),
        productionSinceStart: delta(
          counters.get(s.production!)!,
          at(s.startBaseline ?? s.stepBaseline, s.production!),
        ),
      },
      fullPolicy(s.policy),
    );
    const where = s.phase === 'shadow' ? 'shadow' : `canary ${s.canaryPercent}%`;
    if (verdict.failed) {
      const g = verdict.failed;
      const reason = `rolled back in ${where}: gate ${g.gate} failed (${g.value} against limit ${g.threshold}); ${verdict.text}`;
      return this.finish(
        s,
        { ...ended(s, 'rolled-back', reason, verdict.readings, now), by: 'gates' },
        'rollout.rolled-back',
        verdict,
      );
    }
    if (!verdict.enough) {
      return this.write(s, read(s, verdict.readings, now), () =>
        this.gateEvent(s, verdict, 'waiting'),
      );
    }
    const to = nextStep(s);
    if (to === 'promote') {
      const reason = `promoted after ${where}: every gate passed; ${verdict.text}`;
      return this.finish(
        s,
        { ...promoted(s, reason, verdict.readings, now), by: 'gates' },
        'rollout.promoted',
        verdict,
      );
    }
    const next = advanced(s, to, verdict.readings, now, baselineOf(counters));
    await this.write(s, next, async () => {
      await this.gateEvent(s, verdict, 'passed');
      await this.d.events.append({
        kind: 'rollout.step',
        payload: {
          model,
          gen: s.challenger,
          from: where,
          phase: next.phase,
          step: next.step,
          canaryPercent: next.canaryPercent,
        },
      });
    });
  }

  /**
   * Ends a rollout: the state first (traffic returns to production, or all goes to the
   * challenger, as soon as serving re-reads it), then its event, then the decision.
   */
  private async finish(
    s: RolloutState,
    next: RolloutState,
    kind: 'rollout.promoted' | 'rollout.rolled-back' | 'rollout.aborted',
    verdict?: { readings: GateReading[]; text: string; failed?: GateReading | undefined },
  ): Promise<void> {
    await this.write(s, next, async () => {
      if (verdict) await this.gateEvent(s, verdict, verdict.failed ? 'failed' : 'passed');
      await this.d.events.append({
        kind,
        payload: {
          model: s.model,
          gen: s.challenger,
          production: s.production,
          reason: next.reason,
          by: next.by ?? null,
          ...(verdict?.failed ? { gate: verdict.failed } : {}),
          readings: next.lastReadings,
        },
      });
      this.d.log.info(
        { model: s.model, gen: s.challenger, status: next.status },
        next.reason ?? '',
      );
      await this.settle(next);
    });
  }

  /**
   * Makes the registry and the labels match a finished rollout: idempotent, so every tick
   * may call it, and it completes what a crash (or an operator's command through the
   * gateway, which only writes the state) left undone.
   */
  private async settle(s: RolloutState): Promise<void> {
    const id = `${s.model}:${s.startedAt}:${s.revision}`;
    if (this.settled.has(id)) return;
    const status = await this.status(s.model, s.challenger);
    if (s.status === 'promoted') {
      if (status === 'candidate') {
        await this.decide(
          s,
          'accept',
          'rollout.promoted',
          'promote',
          s.challenger,
          s.reason ?? 'rollout promoted',
        );
      }
      // The handler refused it (rejected meanwhile) or has not promoted yet: look again later.
      if ((await this.status(s.model, s.challenger)) !== 'production') return;
      await this.label(s.model, 'stable', s.challenger);
      await this.label(s.model, 'canary', null);
    } else if (s.status === 'rolled-back' || s.status === 'aborted') {
      await this.label(s.model, 'canary', null);
      if (status === 'candidate') {
        const failed = s.lastReadings.find((r) => r.passed === false)?.gate;
        const rule = s.status === 'aborted' ? 'rollout.aborted' : `rollout.${failed ?? 'gates'}`;
        await this.decide(s, 'reject', rule, s.status, s.challenger, s.reason ?? s.status);
      }
    }
    this.settled.add(id);
  }

  /** Moves a label only when it points elsewhere: each write is announced to every replica. */
  private async label(model: string, label: string, gen: number | null): Promise<void> {
    const cur = (await readLabels(this.d.redis, this.d.keys, model))[label] ?? null;
    if (cur !== gen) await writeLabel(this.d.redis, this.d.keys, model, label, gen);
  }

  private async write(
    s: RolloutState,
    next: RolloutState,
    then: () => Promise<void>,
  ): Promise<void> {
    const stored = await writeRollout(this.d.redis, this.d.keys, s.model, next, s.revision);
    // Another listener (or an operator) moved it first: its write stands, re-read next tick.
    if (stored === 'conflict') return;
    await then();
  }

  private async gateEvent(
    s: RolloutState,
    v: { readings: GateReading[]; text: string },
    outcome: 'waiting' | 'passed' | 'failed',
  ): Promise<void> {
    await this.d.events.append({
      kind: 'rollout.gate',
      payload: {
        model: s.model,
        gen: s.challenger,
        production: s.production,
        phase: s.phase,
        step: s.step,
        canaryPercent: s.canaryPercent,
        outcome,
        readings: v.readings,
        figures: v.text,
      },
    });
  }

  private async decide(
    s: RolloutState,
    action: 'accept' | 'reject',
    rule: string,
    what: string,
    gen: number,
    reason: string,
  ): Promise<void> {
    await this.d.sink.send({
      causeId: rolloutCause(s, what),
      decision: { action, reason, rule, model: s.model, gen },
    });
  }

  /** Each generation's cumulative counters now. */
  private async counters(model: string, gens: number[]): Promise<Map<number, Counters>> {
    const p = this.d.redis.pipeline();
    for (const g of gens) p.hgetall(this.d.keys.modelGenOnline(model, g));
    const res = (await p.exec()) ?? [];
    const out = new Map<number, Counters>();
    gens.forEach((g, i) => {
      const [err, h] = res[i] ?? [null, {}];
      if (err) throw err;
      out.set(g, parseCounters(h as Record<string, string>));
    });
    return out;
  }

  private async status(model: string, gen: number): Promise<string | undefined> {
    try {
      return (await this.d.registry.getGeneration(model, gen)).status;
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  private async production(model: string): Promise<number | undefined> {
    try {
      return (await this.d.registry.getProduction(model))?.gen;
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }
}
