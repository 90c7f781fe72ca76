/**
 * The rollout controller against a real Redis, with the real decision executor carrying out
 * its promotions and rejections on the registry: gates that pass promote once (even with two
 * controllers racing, or one replaced mid-way), a failing gate rolls back with its figures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { DecisionExecutor } from '../../../../services/event-handler/decision-executor.js';
import type { SessionRunner } from '../../../../services/event-handler/session-runner.js';
import { RolloutController } from '../../../../services/event-listener/rollout/controller.js';
import type { Decision } from '../../../../services/event-listener/rules-engine.js';
import {
  DEFAULT_RULES,
  EventLog,
  Keys,
  ModelRegistry,
  SessionStore,
  readLabels,
  readRollout,
  writeRollout,
  type EffectiveRollout,
  type StoredEvent,
} from '../../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';
import { log } from '../harness.js';

const fast = (o: Partial<EffectiveRollout> = {}, gates = {}): EffectiveRollout => ({
  ...DEFAULT_RULES.rollout,
  canarySteps: [50, 100],
  minSamples: 20,
  stepIntervalS: 0.1,
  ...o,
  gates: { ...DEFAULT_RULES.rollout.gates, ...gates },
});

describe('rollout controller', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
  });

  /** A model `m` with production gen 1 and candidate gen 2, and controllers over it. */
  async function setup(t: TestContext, policy: EffectiveRollout) {
    const keys = new Keys(redis.prefix());
    const client = redis.client();
    const events = new EventLog(client, keys);
    const registry = new ModelRegistry(client, keys);
    await registry.addGeneration('m', { type: 'classifier', weights: Buffer.from('g1') });
    await registry.promote('m', 1);
    await registry.addGeneration('m', { weights: Buffer.from('g2') });
    const executor = new DecisionExecutor({
      redis: client,
      keys,
      log,
      events,
      registry,
      sessions: new SessionStore(client, keys),
      // Rollouts never stop sessions.
      runner: undefined as unknown as SessionRunner,
    });
    const rules = { ...DEFAULT_RULES, rollout: policy };
    const controller = () =>
      new RolloutController({
        redis: client,
        keys,
        log,
        events,
        registry,
        sink: { send: async (d) => void (await executor.execute(d)) },
        rulesFor: () => rules,
      });
    const accept = (gen: number): Decision => ({
      causeId: `eval-${gen}`,
      decision: { action: 'accept', reason: `gen ${gen} measured better`, model: 'm', gen },
    });
    /** Adds live (or mirrored) traffic to a generation's counters, as serving would. */
    const traffic = async (gen: number, c: Record<string, number>) => {
      const p = client.pipeline();
      for (const [f, n] of Object.entries(c)) p.hincrby(keys.modelGenOnline('m', gen), f, n);
      await p.exec();
    };
    const healthy = async () => {
      await traffic(1, { requests: 30, 'lat:2': 30 });
      // A mirrored request counts as a request of the shadow too (serving's recorder).
      await traffic(2, {
        requests: 30,
        'lat:2': 30,
        shadowSent: 15,
        shadowCompared: 15,
        shadowAgreed: 15,
      });
    };
    const archive = async (kind?: string): Promise<StoredEvent[]> =>
      (await events.range({ count: 10_000 })).filter((e) => kind === undefined || e.kind === kind);
    const state = () => readRollout(client, keys, 'm');
    return { keys, client, registry, controller, accept, traffic, healthy, archive, state };
  }

  test('a challenger whose gates pass steps through shadow and canary and is promoted once, with two controllers racing', async (t) => {
    const s = await setup(t, fast());
    const [a, b] = [s.controller(), s.controller()];
    assert.equal(await a.start(s.accept(2), 1), true);
    // The same acceptance replayed (a restarted listener) starts nothing new.
    assert.equal(await b.start(s.accept(2), 1), true);
    const started = await s.state();
    assert.deepEqual(
      [
        started?.status,
        started?.phase,
        started?.challenger,
        started?.production,
        started?.canaryPercent,
      ],
      ['running', 'shadow', 2, 1, 0],
    );
    assert.deepEqual(started?.shadows, [2]);
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 1, canary: 2 });
    assert.equal((await s.archive('rollout.started')).length, 1);

    const seen: string[] = ['shadow:0'];
    await waitFor(
      async () => {
        await s.healthy();
        await Promise.all([a.step('m'), b.step('m')]);
        const cur = (await s.state())!;
        const where = `${cur.phase}:${cur.canaryPercent}`;
        if (seen[seen.length - 1] !== where) seen.push(where);
        return cur.status === 'promoted' &&
          (await s.registry.getGeneration('m', 2)).status === 'production'
          ? true
          : undefined;
      },
      { timeoutMs: 20_000, what: 'promoted' },
    );
    assert.deepEqual(seen, ['shadow:0', 'canary:50', 'canary:100', 'done:100']);
    assert.equal((await s.registry.getProduction('m'))?.gen, 2);
    assert.equal((await s.registry.getGeneration('m', 1)).status, 'archived');
    // One promotion, one of each step, whatever the race.
    const promotedEvents = (await s.archive('generation.promoted')).filter(
      (e) => (e.payload as { gen: number }).gen === 2,
    );
    assert.equal(promotedEvents.length, 1);
    assert.equal((await s.archive('rollout.promoted')).length, 1);
    assert.equal((await s.archive('rollout.step')).length, 2);
    const decision = (await s.archive('decision')).map(
      (e) => e.payload as { rule: string; action: string },
    );
    assert.deepEqual(decision, [{ ...decision[0]!, action: 'accept', rule: 'rollout.promoted' }]);
    assert.match((await s.state())!.reason!, /promoted after canary 100%: every gate passed/);
    // Extra passes over a finished rollout change nothing.
    await Promise.all([a.step('m'), b.step('m'), a.step('m')]);
    assert.equal((await s.archive('generation.promoted')).length, promotedEvents.length);
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 2 });
  });

  test('a controller replaced mid-rollout (a restarted listener) resumes at the stored step', async (t) => {
    const s = await setup(t, fast());
    const first = s.controller();
    await first.start(s.accept(2), 1);
    await waitFor(
      async () => {
        await s.healthy();
        await first.step('m');
        return (await s.state())?.phase === 'canary' ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'in canary' },
    );
    // The first is gone; a fresh one knows only what Redis holds.
    const second = s.controller();
    await waitFor(
      async () => {
        await s.healthy();
        await second.step('m');
        return (await s.registry.getGeneration('m', 2)).status === 'production' ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'promoted by the second' },
    );
    const steps = (await s.archive('rollout.step')).map(
      (e) => (e.payload as { from: string }).from,
    );
    assert.deepEqual(steps, ['shadow', 'canary 50%']);
    assert.equal((await s.archive('generation.promoted')).length, 1);
  });

  test('a promotion whose decision was lost to a crash is completed by the next pass', async (t) => {
    const s = await setup(t, fast());
    const c = s.controller();
    await c.start(s.accept(2), 1);
    // The state says promoted (as an operator's command or a crashed listener leaves it).
    const cur = (await s.state())!;
    await writeRollout(
      s.client,
      s.keys,
      'm',
      { ...cur, status: 'promoted', phase: 'done' },
      cur.revision,
    );
    await c.step('m');
    assert.equal((await s.registry.getProduction('m'))?.gen, 2);
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 2 });
  });

  test('a failing online accuracy gate rolls back within one interval, with the figures', async (t) => {
    const s = await setup(t, fast({ mode: 'canary' }));
    const c = s.controller();
    await c.start(s.accept(2), 1);
    assert.equal((await s.state())?.canaryPercent, 50);
    // Ground truth for the live answers: production right 36 of 40, the challenger 12 of 40.
    await s.traffic(1, { requests: 40, 'lat:2': 40, feedback: 40, feedbackCorrect: 36 });
    await s.traffic(2, { requests: 40, 'lat:2': 40, feedback: 40, feedbackCorrect: 12 });
    await waitFor(
      async () => {
        await c.step('m');
        return (await s.state())?.status === 'rolled-back' ? true : undefined;
      },
      { timeoutMs: 5_000, what: 'rolled back' },
    );
    const st = (await s.state())!;
    assert.equal(st.canaryPercent, 0);
    assert.deepEqual(st.shadows, []);
    const g2 = await s.registry.getGeneration('m', 2);
    assert.equal(g2.status, 'rejected');
    assert.match(g2.reason!, /gate accuracyDrop failed \(0\.6 against limit 0\.02\)/);
    assert.match(g2.reason!, /online accuracy 0\.3 on 40 labels against production's 0\.9 on 40/);
    assert.equal((await s.registry.getProduction('m'))?.gen, 1);
    const [ev] = await s.archive('rollout.rolled-back');
    const p = ev!.payload as { gate: { gate: string; value: number; threshold: number } };
    assert.deepEqual(p.gate, { gate: 'accuracyDrop', value: 0.6, threshold: 0.02, passed: false });
    const gate = (await s.archive('rollout.gate')).at(-1)!.payload as { outcome: string };
    assert.equal(gate.outcome, 'failed');
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 1 });
    const decisions = (await s.archive('decision')).map((e) => e.payload as { rule: string });
    assert.deepEqual(
      decisions.map((d) => d.rule),
      ['rollout.accuracyDrop'],
    );
  });

  test('a newer accepted candidate supersedes the running challenger', async (t) => {
    const s = await setup(t, fast());
    const c = s.controller();
    await c.start(s.accept(2), 1);
    await s.registry.addGeneration('m', { weights: Buffer.from('g3') });
    await c.start(s.accept(3), 1);
    const st = (await s.state())!;
    assert.deepEqual([st.challenger, st.phase, st.status], [3, 'shadow', 'running']);
    const g2 = await s.registry.getGeneration('m', 2);
    assert.equal(g2.status, 'rejected');
    assert.match(g2.reason!, /superseded by the newer accepted gen 3/);
    assert.equal((await s.archive('rollout.superseded')).length, 1);
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 1, canary: 3 });
    // An older acceptance arriving late is rejected, and the rollout of 3 goes on.
    await s.registry.addGeneration('m', { weights: Buffer.from('g4') });
    const late: Decision = { ...s.accept(2), causeId: 'late' };
    assert.equal(await c.start(late, 1), true);
    assert.equal((await s.state())!.challenger, 3);
  });

  test('mode direct leaves promotion to the caller; an aborted rollout rejects its challenger', async (t) => {
    const direct = await setup(t, fast({ mode: 'direct' }));
    assert.equal(await direct.controller().start(direct.accept(2), 1), false);
    assert.equal(await direct.state(), null);

    const s = await setup(t, fast());
    const c = s.controller();
    await c.start(s.accept(2), 1);
    const cur = (await s.state())!;
    await writeRollout(
      s.client,
      s.keys,
      'm',
      { ...cur, status: 'aborted', phase: 'done', reason: 'aborted by ops', by: 'ops' },
      cur.revision,
    );
    await c.step('m');
    const g2 = await s.registry.getGeneration('m', 2);
    assert.deepEqual([g2.status, g2.reason], ['rejected', 'aborted by ops']);
    assert.deepEqual(await readLabels(s.client, s.keys, 'm'), { stable: 1 });
  });
});
