import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkBudget,
  decide,
  type ProductionView,
} from '../../../services/event-listener/rules-engine.js';
import {
  emptyView,
  observe,
  type SessionView,
} from '../../../services/event-listener/session-view.js';
import {
  RulesDocument,
  effectiveRules,
  type RulesDocumentInput,
} from '../../../shared/protocol/rules.js';
import type { StoredEvent } from '../../../shared/store/event-log.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
let seq = 0;

function ev(
  kind: string,
  payload: unknown,
  opts: { sessionId?: string; atS?: number } = {},
): StoredEvent {
  seq++;
  return {
    id: `${T0 + seq}-0`,
    kind,
    payload,
    time: new Date(T0 + (opts.atS ?? seq) * 1000).toISOString(),
    sessionId: opts.sessionId ?? 's1',
  };
}

function rules(doc: RulesDocumentInput = {}) {
  const parsed = RulesDocument.parse(doc);
  return (model: string | undefined) => effectiveRules(parsed, model);
}

/** Feeds events through observe + decide like the listener does; answers every decision. */
function run(
  events: StoredEvent[],
  doc: RulesDocumentInput = {},
  production: ProductionView | null = null,
) {
  let view: SessionView = emptyView('s1');
  const out = [];
  for (const e of events) {
    view = observe(view, e);
    for (const d of decide(view, e, rules(doc), production)) {
      out.push(d);
      if (d.decision.action === 'stop') view = { ...view, stopDecided: true };
    }
  }
  return { decisions: out, view };
}

const queued = (model = 'digits', timeBudgetS = 3600) =>
  ev('session.queued', { request: { model, timeBudgetS } }, { atS: 0 });
const epoch = (n: number, loss: number | null, extra: Record<string, unknown> = {}) =>
  ev('epoch', { epoch: n, epochs: 100, loss, ...extra }, { atS: n });

describe('stop rules', () => {
  test('a NaN loss (null in JSON) stops the session at once', () => {
    const { decisions } = run([queued(), epoch(1, 0.9), epoch(2, null), epoch(3, null)]);
    assert.equal(decisions.length, 1, 'one stop, not one per epoch');
    assert.equal(decisions[0]!.decision.action, 'stop');
    assert.equal(decisions[0]!.decision.rule, 'stop.nanLoss');
    assert.match(decisions[0]!.decision.reason, /NaN at epoch 2/);
    assert.equal(decisions[0]!.sessionId, 's1');
  });

  test('a loss rising for K consecutive epochs stops; K-1 rises do not', () => {
    const rising = [1.0, 0.8, 0.9, 1.0, 1.1];
    const k3 = run([queued(), ...rising.map((l, i) => epoch(i + 1, l))], {
      stop: { lossRiseEpochs: 3, plateauEpochs: null },
    });
    assert.equal(k3.decisions.length, 1);
    assert.equal(k3.decisions[0]!.decision.rule, 'stop.lossRiseEpochs');
    assert.match(k3.decisions[0]!.decision.reason, /rose for 3 consecutive epochs .*epoch 5/);

    const k4 = run([queued(), ...rising.map((l, i) => epoch(i + 1, l))], {
      stop: { lossRiseEpochs: 4, plateauEpochs: null },
    });
    assert.deepEqual(k4.decisions, []);
  });

  test('the rise rule can watch valLoss instead of the training loss', () => {
    const events = [
      queued(),
      ...[0.5, 0.6, 0.7, 0.8].map((v, i) => epoch(i + 1, 1 - i * 0.1, { valLoss: v })),
    ];
    assert.deepEqual(
      run(events, { stop: { lossRiseEpochs: 3, plateauEpochs: null } }).decisions,
      [],
    );
    const { decisions } = run(events, {
      stop: { lossRiseEpochs: 3, plateauEpochs: null, lossMetric: 'valLoss' },
    });
    assert.equal(decisions[0]?.decision.rule, 'stop.lossRiseEpochs');
    assert.match(decisions[0].decision.reason, /^valLoss rose/);
  });

  test('a plateau of P epochs without a minDelta improvement stops', () => {
    const losses = [1.0, 0.5, 0.49995, 0.49996, 0.49994, 0.49993];
    const { decisions } = run([queued(), ...losses.map((l, i) => epoch(i + 1, l))], {
      stop: { plateauEpochs: 4, plateauMinDelta: 1e-3, lossRiseEpochs: null },
    });
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.decision.rule, 'stop.plateauEpochs');
    assert.match(decisions[0]!.decision.reason, /plateaued.*last 4 epochs/);
  });

  test('steady improvement is not a plateau, and disabled rules never fire', () => {
    const improving = [1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1].map((l, i) => epoch(i + 1, l));
    assert.deepEqual(run([queued(), ...improving], { stop: { plateauEpochs: 3 } }).decisions, []);
    const flat = [1, 1, 1, 1, 1, 1, 1].map((l, i) => epoch(i + 1, l));
    assert.deepEqual(
      run([queued(), ...flat], { stop: { plateauEpochs: null, lossRiseEpochs: null } }).decisions,
      [],
    );
  });

  test('the time budget stops a session that ran past it, counted from its start', () => {
    const started = ev('session.started', {}, { atS: 10 });
    const { decisions } = run([
      queued('digits', 30),
      started,
      ev('epoch', { epoch: 1, epochs: 9, loss: 1 }, { atS: 20 }),
      ev('epoch', { epoch: 2, epochs: 9, loss: 0.9 }, { atS: 41 }),
    ]);
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.decision.rule, 'stop.timeBudget');
    assert.match(decisions[0]!.decision.reason, /ran 31 s, over its time budget of 30 s/);
    assert.equal(decisions[0]!.causeId, 's1:time-budget');
  });

  test('checkBudget fires between events, once, and not when the rule is off', () => {
    let view = observe(emptyView('s1'), queued('digits', 5));
    view = observe(view, ev('session.started', {}, { atS: 0 }));
    const on = effectiveRules(null);
    assert.deepEqual(checkBudget(view, T0 + 4_000, on), []);
    const [d] = checkBudget(view, T0 + 6_000, on);
    assert.equal(d?.decision.action, 'stop');
    assert.deepEqual(checkBudget({ ...view, stopDecided: true }, T0 + 6_000, on), []);
    const off = effectiveRules(RulesDocument.parse({ stop: { timeBudget: false } }));
    assert.deepEqual(checkBudget(view, T0 + 6_000, off), []);
  });
});

describe('flag rule', () => {
  test('a worker that exited non-zero is flagged with its exit code', () => {
    const { decisions } = run([
      queued(),
      ev('session.finished', { state: 'failed', exitCode: 137, signal: 'SIGKILL' }),
    ]);
    assert.equal(decisions.length, 1);
    assert.equal(decisions[0]!.decision.action, 'flag');
    assert.equal(decisions[0]!.decision.rule, 'flag.nonZeroExit');
    assert.match(decisions[0]!.decision.reason, /exited with code 137 \(SIGKILL\)/);
  });

  test("the handler's own payload for a SIGKILLed process is flagged, its reason kept", () => {
    const { decisions } = run([
      queued(),
      ev('session.finished', {
        state: 'failed',
        exitCode: null,
        reason: 'worker exited with code unknown (SIGKILL)',
        lastLogs: [],
      }),
    ]);
    assert.equal(decisions[0]?.decision.action, 'flag');
    assert.equal(decisions[0].decision.reason, 'worker exited with code unknown (SIGKILL)');
    const coded = run([
      queued(),
      ev('session.finished', { state: 'failed', exitCode: 1, reason: 'worker exited with code 1' }),
    ]);
    assert.equal(coded.decisions[0]!.decision.reason, 'worker exited with code 1');
  });

  test('a kill without an exit code is flagged; a clean exit and a stopped session are not', () => {
    const killed = run([
      queued(),
      ev('session.finished', { state: 'failed', exitCode: null, signal: 'SIGKILL' }),
    ]);
    assert.match(killed.decisions[0]!.decision.reason, /killed by SIGKILL/);
    assert.deepEqual(
      run([queued(), ev('session.finished', { state: 'succeeded', exitCode: 0 })]).decisions,
      [],
    );
    assert.deepEqual(
      run([queued(), ev('session.finished', { state: 'stopped', exitCode: 143 })]).decisions,
      [],
    );
    const strict = run([queued(), ev('session.finished', { state: 'stopped', exitCode: 143 })], {
      flag: { ignoreStopped: false },
    });
    assert.equal(strict.decisions[0]?.decision.action, 'flag');
  });
});

describe('accept rule', () => {
  const candidate = (valAccuracy: number | undefined, model = 'digits', gen = 2) =>
    ev('generation.candidate', {
      model,
      gen,
      metrics: valAccuracy === undefined ? { loss: 0.1 } : { valAccuracy, loss: 0.1 },
    });
  const prod: ProductionView = { gen: 1, metrics: { valAccuracy: 0.9 } };

  test('a better candidate is accepted', () => {
    const [d] = run([candidate(0.95)], {}, prod).decisions;
    assert.deepEqual(
      { action: d!.decision.action, model: d!.decision.model, gen: d!.decision.gen },
      { action: 'accept', model: 'digits', gen: 2 },
    );
    assert.match(d!.decision.reason, /valAccuracy 0\.95 beats production gen 1 \(0\.9\)/);
  });

  test('a worse candidate is rejected with a reason naming both values', () => {
    const [d] = run([candidate(0.42)], {}, prod).decisions;
    assert.equal(d!.decision.action, 'reject');
    assert.match(d!.decision.reason, /0\.42/);
    assert.match(d!.decision.reason, /0\.9/);
    assert.match(d!.decision.reason, /does not beat production gen 1/);
  });

  test('the margin must be exceeded', () => {
    assert.equal(
      run([candidate(0.905)], { accept: { margin: 0.01 } }, prod).decisions[0]!.decision.action,
      'reject',
    );
    assert.equal(
      run([candidate(0.92)], { accept: { margin: 0.01 } }, prod).decisions[0]!.decision.action,
      'accept',
    );
  });

  test('with no production the candidate is accepted, unless below minValue', () => {
    const [d] = run([candidate(0.3)]).decisions;
    assert.equal(d!.decision.action, 'accept');
    assert.match(d!.decision.reason, /no production/);
    const [low] = run([candidate(0.3)], { accept: { minValue: 0.5 } }).decisions;
    assert.equal(low!.decision.action, 'reject');
    assert.equal(low!.decision.rule, 'accept.minValue');
  });

  test('a candidate without the metric is rejected; lower-is-better metrics compare the other way', () => {
    assert.equal(run([candidate(undefined)], {}, prod).decisions[0]!.decision.action, 'reject');
    const lossProd: ProductionView = { gen: 1, metrics: { valLoss: 0.3 } };
    const lower = ev('generation.candidate', {
      model: 'digits',
      gen: 2,
      metrics: { valLoss: 0.2 },
    });
    const doc = { accept: { metric: 'valLoss', higherIsBetter: false } };
    assert.equal(run([lower], doc, lossProd).decisions[0]!.decision.action, 'accept');
    const higher = ev('generation.candidate', {
      model: 'digits',
      gen: 3,
      metrics: { valLoss: 0.4 },
    });
    const [d] = run([higher], doc, lossProd).decisions;
    assert.equal(d!.decision.action, 'reject');
    assert.match(d!.decision.reason, /lower is better/);
  });

  test('a candidate from a session told to stop is rejected, not accepted behind the stop', () => {
    // The trainer finished its last epoch before the stop reached it, and exported anyway.
    const { decisions } = run([queued(), epoch(1, 0.9), epoch(2, null), candidate(0.95)]);
    assert.deepEqual(
      decisions.map((d) => [d.decision.action, d.decision.rule]),
      [
        ['stop', 'stop.nanLoss'],
        ['reject', 'accept.sessionStopped'],
      ],
    );
    assert.deepEqual([decisions[1]!.decision.model, decisions[1]!.decision.gen], ['digits', 2]);
    assert.match(decisions[1]!.decision.reason, /told to stop/);
  });

  test('per-model overrides apply to their model only', () => {
    const doc = { accept: { margin: 0 }, perModel: { strict: { accept: { margin: 0.2 } } } };
    const strictProd: ProductionView = { gen: 1, metrics: { valAccuracy: 0.5 } };
    assert.equal(
      run([candidate(0.6, 'strict')], doc, strictProd).decisions[0]!.decision.action,
      'reject',
    );
    assert.equal(
      run([candidate(0.6, 'other')], doc, strictProd).decisions[0]!.decision.action,
      'accept',
    );
    const stopDoc = { perModel: { fragile: { stop: { lossRiseEpochs: 1 } } } };
    const events = (m: string) => [queued(m), epoch(1, 0.5), epoch(2, 0.6)];
    assert.equal(run(events('fragile'), stopDoc).decisions.length, 1);
    assert.equal(run(events('other'), stopDoc).decisions.length, 0);
  });
});
