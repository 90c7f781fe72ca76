/**
 * A canary rollout end to end with real parts: serving (onnxruntime, the canary split, the
 * online counters), the gateway (inference proxy, the feedback route), the event listener
 * (its rollout loop) and the decision executor on the real registry. The challenger answers
 * the opposite class of production's, as a model trained on shuffled labels does; ground
 * truth posted for the live answers fails its accuracy gate, and it is rolled back while
 * clients keep sending, with no failed request. One request key sees one generation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { buildListener, type ListenerApp } from '../../../../services/event-listener/app.js';
import { DecisionExecutor } from '../../../../services/event-handler/decision-executor.js';
import type { SessionRunner } from '../../../../services/event-handler/session-runner.js';
import {
  EventLog,
  LiveConfig,
  SessionStore,
  putRules,
  readRollout,
  type StoredEvent,
} from '../../../../shared/index.js';
import { linearClassifierModel } from '../../../helpers/onnx-models.js';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { waitFor } from '../../../helpers/wait.js';
import { startRegistryServing, type RegistryServing } from '../../serving/registry-serving.js';
import { evaluatedPayload, log } from '../harness.js';

const M = 'signs';
const GOOD = 'signs-good';
let r: TestRedis;
let db: Redis;
let s: RegistryServing;
let g: TestGateway;
let listener: ListenerApp;
let makeListener: () => ListenerApp;
let events: EventLog;

before(async () => {
  r = await startTestRedis();
  db = r.client();
  const prefix = r.prefix();
  s = await startRegistryServing(r, prefix, { ONLINE_FLUSH_MS: '50' });
  // Production: class 0 when x0 > 0, else class 1 (the truth). The challenger: the opposite.
  for (const w of [
    [
      [1, -1],
      [0, 0],
    ],
    [
      [-1, 1],
      [0, 0],
    ],
  ]) {
    await s.registry.addGeneration(M, {
      type: 'classifier',
      weights: linearClassifierModel({ weights: w, bias: [0, 0] }),
    });
  }
  await s.registry.promote(M, 1);
  // A second model whose challenger is as right as production (its scale differs).
  for (const scale of [1, 3]) {
    await s.registry.addGeneration(GOOD, {
      type: 'classifier',
      weights: linearClassifierModel({
        weights: [
          [1, -1],
          [0, 0],
        ],
        bias: [0, 0],
        scale,
      }),
    });
  }
  await s.registry.promote(GOOD, 1);
  // Two models' processes starting on a loaded machine: allow them time.
  await waitFor(() => s.app.fleet.host(M)?.gen === 1, {
    what: 'generation 1 live',
    timeoutMs: 60_000,
  });
  await waitFor(() => s.app.fleet.host(GOOD)?.gen === 1, {
    what: 'good generation 1 live',
    timeoutMs: 60_000,
  });
  g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url, SWARMML_PREFIX: prefix } });
  events = new EventLog(db, s.keys);
  const live = new LiveConfig(db, s.keys, { log });
  await live.start();
  await putRules(live, {
    perModel: {
      [M]: {
        rollout: {
          mode: 'canary',
          canarySteps: [50, 100],
          minSamples: 40,
          stepIntervalS: 0.3,
          // Latency on a loaded test machine says nothing about these two models.
          gates: { maxP99Ratio: null, maxAccuracyDrop: 0.1, minFeedback: 20 },
        },
      },
      [GOOD]: {
        rollout: {
          mode: 'shadow-then-canary',
          canarySteps: [50, 100],
          minSamples: 40,
          stepIntervalS: 0.3,
          gates: { maxP99Ratio: null, minAgreement: 0.99, maxAccuracyDrop: 0.1, minFeedback: 20 },
        },
      },
    },
  });
  await live.close();
  const executor = new DecisionExecutor({
    redis: db,
    keys: s.keys,
    log,
    events,
    registry: s.registry,
    sessions: new SessionStore(db, s.keys),
    runner: undefined as unknown as SessionRunner,
  });
  makeListener = () =>
    buildListener({
      config: {
        SWARMML_PREFIX: prefix,
        EVENT_HANDLER_URL: 'http://127.0.0.1:9',
        internalToken: 'internal-token-0123456789',
        BUDGET_CHECK_MS: 200,
        START_FROM: 'latest',
        ROLLOUT_TICK_MS: 50,
      },
      log,
      redis: r.client(),
      bullRedis: r.client({ forWorker: true }),
      sink: { send: async (d) => void (await executor.execute(d)) },
    });
  listener = makeListener();
  await listener.start();
});
after(async () => {
  await listener?.close();
  await g?.close();
  await s?.stop();
  await r?.stop();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${g.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${g.adminToken}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });

interface Answer {
  id: string;
  gen: number;
  key: string;
  truth: number;
}

/** One client request; the truth is production's answer. */
async function infer(key: string, x0: number, model = M): Promise<Answer | Error> {
  try {
    const res = await api(`/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'x-request-key': key },
      body: JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [x0, 0.5] }],
      }),
    });
    const text = await res.text();
    if (res.status !== 200) return new Error(`${res.status} ${text}`);
    const body = JSON.parse(text) as { id: string };
    const gen = Number(res.headers.get('x-swarmml-generation'));
    return { id: body.id, gen, key, truth: x0 > 0 ? 0 : 1 };
  } catch (err) {
    return err as Error;
  }
}

test('a canary answering wrongly is rolled back on posted ground truth, with 0 failed requests', async () => {
  const startId = await events.append({
    kind: 'generation.evaluated',
    payload: evaluatedPayload({
      model: M,
      gen: 2,
      accuracy: 0.97,
      against: { gen: 1, accuracy: 0.9 },
    }),
  });
  const started = await waitFor(() => readRollout(db, s.keys, M), { what: 'rollout started' });
  assert.deepEqual([started.phase, started.canaryPercent, started.challenger], ['canary', 50, 2]);
  await waitFor(() => s.app.rollout.views!.view(M).active && s.app.fleet.host(M)!.ready(2), {
    what: 'serving splits to generation 2',
    timeoutMs: 60_000,
  });

  const failures: Error[] = [];
  const answers: Answer[] = [];
  const byKey = new Map<string, Set<number>>();
  let i = 0;
  let labelled = 0;
  let rolledBackAt: number | undefined;
  const status = async () => (await readRollout(db, s.keys, M))?.status;
  // 16 clients keep sending until the rollback, then a few more rounds.
  while (rolledBackAt === undefined || i < rolledBackAt + 64) {
    const round = await Promise.all(
      Array.from({ length: 16 }, (_, c) => infer(`client-${c}`, ((i++ % 7) - 3) / 3 || 0.5)),
    );
    // Serving moves every key back to production only after the rollback is stored: a round
    // that ends with it stored may have been answered on both sides of the move, so only
    // rounds that end before it count towards stickiness.
    const splitHeld = (await status()) !== 'rolled-back';
    for (const a of round) {
      if (a instanceof Error) failures.push(a);
      else {
        answers.push(a);
        if (rolledBackAt === undefined && splitHeld) {
          const set = byKey.get(a.key) ?? new Set();
          set.add(a.gen);
          byKey.set(a.key, set);
        }
      }
    }
    // Ground truth arrives for what was answered so far.
    const fresh = answers.slice(labelled).map((a) => ({ id: a.id, label: a.truth }));
    labelled = answers.length;
    if (fresh.length > 0 && rolledBackAt === undefined) {
      await s.app.rollout.recorder!.flush();
      const res = await api(`/api/v1/models/${M}/feedback`, {
        method: 'POST',
        body: JSON.stringify(fresh),
      });
      assert.equal(res.status, 200, await res.clone().text());
    }
    if (rolledBackAt === undefined && (await status()) === 'rolled-back') rolledBackAt = i;
    assert.ok(i < 20_000, 'rolled back in time');
  }
  assert.deepEqual(failures, [], 'no client request failed');
  for (const [key, gens] of byKey) assert.equal(gens.size, 1, `${key} saw one generation`);
  assert.ok(
    [...byKey.values()].some((gs) => gs.has(2)),
    'some clients were on the canary',
  );
  // Traffic is back on production as soon as serving has re-read the state.
  const later: Error[] = [];
  await waitFor(
    async () => {
      const round = await Promise.all(
        Array.from({ length: 16 }, (_, c) => infer(`client-${c}`, 1)),
      );
      for (const a of round) if (a instanceof Error) later.push(a);
      return round.every((a) => !(a instanceof Error) && a.gen === 1) ? true : undefined;
    },
    { what: 'every client on production' },
  );
  assert.deepEqual(later, [], 'no client request failed after the rollback either');

  const st = (await readRollout(db, s.keys, M))!;
  assert.deepEqual([st.status, st.canaryPercent], ['rolled-back', 0]);
  // The state changes first; the rejection is the handler's, a moment later.
  const g2 = await waitFor(
    async () => {
      const g = await s.registry.getGeneration(M, 2);
      return g.status === 'rejected' ? g : undefined;
    },
    { what: 'generation 2 rejected' },
  );
  assert.match(g2.reason!, /gate accuracyDrop failed \(1 against limit 0\.1\)/);
  assert.equal((await s.registry.getProduction(M))?.gen, 1);
  const all: StoredEvent[] = await events.range({ from: startId, count: 10_000 });
  const back = all.find((e) => e.kind === 'rollout.rolled-back')!;
  const p = back.payload as { gate: { gate: string; value: number }; reason: string };
  assert.deepEqual([p.gate.gate, p.gate.value], ['accuracyDrop', 1]);
  assert.match(p.reason, /online accuracy 0 on \d+ labels against production's 1 on \d+/);
  assert.equal(all.filter((e) => e.kind === 'generation.promoted').length, 0);
});

test('a challenger as good as production is promoted once, across a listener restart mid-rollout', async () => {
  const startId = await events.append({
    kind: 'generation.evaluated',
    payload: evaluatedPayload({
      model: GOOD,
      gen: 2,
      accuracy: 0.97,
      against: { gen: 1, accuracy: 0.9 },
    }),
  });
  await waitFor(() => readRollout(db, s.keys, GOOD), { what: 'rollout started' });
  let restarted = false;
  let i = 0;
  const failures: Error[] = [];
  const done = async () => (await s.registry.getGeneration(GOOD, 2)).status === 'production';
  while (!(await done())) {
    const round = await Promise.all(
      Array.from({ length: 16 }, (_, c) => infer(`k-${c}`, ((i++ % 7) - 3) / 3 || 0.5, GOOD)),
    );
    const ok = round.filter((a): a is Answer => !(a instanceof Error));
    failures.push(...round.filter((a): a is Error => a instanceof Error));
    await s.app.rollout.recorder!.flush();
    const res = await api(`/api/v1/models/${GOOD}/feedback`, {
      method: 'POST',
      body: JSON.stringify(ok.map((a) => ({ id: a.id, label: a.truth }))),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const st = await readRollout(db, s.keys, GOOD);
    if (!restarted && st?.phase === 'canary') {
      // The listener dies mid-rollout; a new one knows only what Redis holds.
      await listener.close();
      listener = makeListener();
      await listener.start();
      restarted = true;
    }
    assert.ok(i < 40_000, 'promoted in time');
  }
  assert.ok(restarted, 'the listener was restarted mid-rollout');
  assert.deepEqual(failures, [], 'no client request failed');
  // The registry changes before the handler archives generation.promoted.
  const all = await waitFor(
    async () => {
      const evs = await events.range({ from: startId, count: 10_000 });
      return evs.some((e) => e.kind === 'generation.promoted') ? evs : undefined;
    },
    { what: 'generation.promoted archived' },
  );
  const of = (kind: string) =>
    all.filter((e) => e.kind === kind && (e.payload as { model: string }).model === GOOD);
  assert.equal(of('generation.promoted').length, 1);
  assert.equal(of('rollout.promoted').length, 1);
  assert.deepEqual(
    of('rollout.step').map((e) => (e.payload as { from: string }).from),
    ['shadow', 'canary 50%'],
  );
  const st = (await readRollout(db, s.keys, GOOD))!;
  assert.equal(st.status, 'promoted');
  assert.match(st.reason!, /promoted after canary 100%: every gate passed/);
  // In the shadow phase the challenger's answers were compared with production's: all agreed.
  const shadowPass = of('rollout.gate')
    .map(
      (e) =>
        e.payload as {
          phase: string;
          outcome: string;
          readings: { gate: string; value: number | null }[];
        },
    )
    .find((p) => p.phase === 'shadow' && p.outcome === 'passed')!;
  assert.equal(shadowPass.readings.find((r) => r.gate === 'agreement')?.value, 1);
});
