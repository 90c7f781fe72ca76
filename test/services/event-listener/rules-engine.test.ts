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
import { EvaluatedPayload } from '../../../shared/protocol/evaluation.js';
import { isStale } from '../../../services/event-listener/candidate-rules.js';

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

describe('accept rule (on the figures the platform measured)', () => {
  interface Eval {
    accuracy?: number;
    logLoss?: number;
    reported?: Record<string, number>;
    against?: { gen: number; accuracy?: number; logLoss?: number; error?: string } | null;
    baseline?: number;
    rows?: number;
    mcnemar?: { b: number; c: number };
    quantiles?: Record<string, Record<string, number>>;
    error?: string;
    model?: string;
    gen?: number;
  }
  const figures = (accuracy?: number, logLoss?: number) => ({
    ...(accuracy === undefined ? {} : { accuracy }),
    ...(logLoss === undefined ? {} : { logLoss }),
  });
  const evaluated = (o: Eval = {}) =>
    ev('generation.evaluated', {
      model: o.model ?? 'digits',
      gen: o.gen ?? 2,
      reported: o.reported ?? {},
      by: 'test',
      at: new Date(T0).toISOString(),
      ms: 1,
      ...(o.error !== undefined
        ? { error: o.error, metrics: {} }
        : {
            task: 'classification',
            rows: {
              dataset: 'digits',
              version: 1,
              split: 'recorded',
              seed: 42,
              validationFraction: 0.2,
              count: o.rows ?? 360,
              available: o.rows ?? 360,
              trainCount: 1437,
            },
            metrics: figures(o.accuracy ?? 0.95, o.logLoss ?? 0.2),
            baseline: {
              kind: 'majority-class',
              value: 3,
              label: 'three',
              metrics: { accuracy: o.baseline ?? 0.4 },
            },
            against:
              o.against === undefined
                ? null
                : o.against && {
                    gen: o.against.gen,
                    metrics: figures(o.against.accuracy, o.against.logLoss),
                    ...(o.against.error ? { error: o.against.error } : {}),
                  },
            paired: {
              ...(o.mcnemar ? { mcnemar: o.mcnemar } : {}),
              ...(o.quantiles
                ? { bootstrap: { resamples: 500, seed: 2, quantiles: o.quantiles } }
                : {}),
            },
          }),
    });
  const prod: ProductionView = { gen: 1 };
  const vsProd = (accuracy: number, logLoss = 0.3) => ({ gen: 1, accuracy, logLoss });
  const one = (
    events: StoredEvent[],
    doc: RulesDocumentInput = {},
    p: ProductionView | null = prod,
  ) => {
    const { decisions } = run(events, doc, p);
    assert.equal(decisions.length, 1, JSON.stringify(decisions));
    return decisions[0]!.decision;
  };

  test('a candidate waits for its evaluation: what it reports decides nothing', () => {
    const candidate = ev('generation.candidate', {
      model: 'digits',
      gen: 2,
      metrics: { valAccuracy: 0.9999 },
    });
    assert.deepEqual(run([candidate], {}, prod).decisions, []);
    assert.deepEqual(run([candidate]).decisions, []);
  });

  test('a better candidate is accepted, the reason naming the figures, the rows and the baseline', () => {
    const d = one([evaluated({ accuracy: 0.95, against: vsProd(0.9) })]);
    assert.deepEqual([d.action, d.rule, d.model, d.gen], ['accept', 'accept.margin', 'digits', 2]);
    assert.match(
      d.reason,
      /^measured accuracy 0\.95 on digits@1 \(360 held-out rows\) beats production gen 1 \(0\.9 on the same rows\) by 0\.05; accuracy 0\.95 beats the majority-class baseline \(always class 3 "three": accuracy 0\.4\) by 0\.55$/,
    );
  });

  test('a worse candidate is rejected with a reason naming both values; the margin must be exceeded', () => {
    const d = one([evaluated({ accuracy: 0.5, against: vsProd(0.9) })]);
    assert.equal(d.action, 'reject');
    assert.match(
      d.reason,
      /measured accuracy 0\.5 .* does not beat production gen 1 \(0\.9 on the same rows\)/,
    );
    const doc = { accept: { margin: 0.01 } };
    assert.equal(one([evaluated({ accuracy: 0.905, against: vsProd(0.9) })], doc).action, 'reject');
    assert.equal(one([evaluated({ accuracy: 0.92, against: vsProd(0.9) })], doc).action, 'accept');
  });

  test('with no production a candidate is accepted only when it beats the majority-class baseline', () => {
    const good = one([evaluated({ accuracy: 0.6, baseline: 0.4 })], {}, null);
    assert.deepEqual([good.action, good.rule], ['accept', 'accept.noProduction']);
    assert.match(
      good.reason,
      /majority-class baseline .* by 0\.2; no production generation to beat/,
    );
    // 0.21 against a majority guess at 0.40: the softmax that once went live.
    const poor = one([evaluated({ accuracy: 0.21, baseline: 0.4 })], {}, null);
    assert.deepEqual([poor.action, poor.rule], ['reject', 'accept.baseline']);
    assert.match(
      poor.reason,
      /^accuracy 0\.21 does not beat the majority-class baseline \(always class 3 "three": accuracy 0\.4\) by more than 0\.02 on digits@1 \(360 held-out rows\)$/,
    );
    // Within the margin is not enough; the margin is a rule.
    assert.equal(one([evaluated({ accuracy: 0.41, baseline: 0.4 })], {}, null).action, 'reject');
    const off = { accept: { baselineMargin: null } };
    assert.equal(one([evaluated({ accuracy: 0.21, baseline: 0.4 })], off, null).action, 'accept');
  });

  test('below the baseline is rejected as such when production exists too', () => {
    const d = one([evaluated({ accuracy: 0.3, baseline: 0.4, against: vsProd(0.9) })]);
    assert.deepEqual([d.action, d.rule], ['reject', 'accept.baseline']);
    assert.match(d.reason, /majority-class baseline/);
  });

  test('a reported figure that overstates the measured one is flagged and rejected, with both', () => {
    const events = [
      evaluated({ accuracy: 0.12, reported: { valAccuracy: 0.9999 }, against: vsProd(0.9) }),
    ];
    const { decisions } = run(events, {}, prod);
    assert.deepEqual(
      decisions.map((d) => [d.decision.action, d.decision.rule]),
      [
        ['flag', 'accept.reportedMismatch'],
        ['reject', 'accept.reportedMismatch'],
      ],
    );
    assert.match(
      decisions[1]!.decision.reason,
      /^reported valAccuracy 0\.9999 but measured accuracy 0\.12 on digits@1 \(360 held-out rows\): overstated by 0\.8799, over the tolerance 0\.02/,
    );
    // Within the tolerance, or understated, is no lie; the check can be turned off.
    const near = evaluated({
      accuracy: 0.95,
      reported: { valAccuracy: 0.965 },
      against: vsProd(0.9),
    });
    assert.equal(one([near]).action, 'accept');
    const modest = evaluated({
      accuracy: 0.95,
      reported: { valAccuracy: 0.5 },
      against: vsProd(0.9),
    });
    assert.equal(one([modest]).action, 'accept');
    assert.equal(
      one(events, { accept: { reportedTolerance: null } }).rule,
      'accept.baseline',
      'judged on the measured figure alone',
    );
  });

  test('an accuracy tie is broken by log loss (lower is better), or rejected without a tie-break', () => {
    const lower = one([evaluated({ accuracy: 0.9, logLoss: 0.1, against: vsProd(0.9, 0.17) })]);
    assert.deepEqual([lower.action, lower.rule], ['accept', 'accept.tieBreak']);
    assert.match(
      lower.reason,
      /ties production gen 1 .*; tie-break logLoss 0\.1 against production gen 1's 0\.17 \(lower is better\)/,
    );
    const higher = one([evaluated({ accuracy: 0.9, logLoss: 0.2, against: vsProd(0.9, 0.17) })]);
    assert.deepEqual([higher.action, higher.rule], ['reject', 'accept.tieBreak']);
    const none = { accept: { tieBreak: null } };
    assert.equal(
      one([evaluated({ accuracy: 0.9, logLoss: 0.1, against: vsProd(0.9, 0.17) })], none).action,
      'reject',
    );
  });

  test("significance: McNemar's exact test on small sets, skipped on large ones", () => {
    const doc = {
      accept: { significance: { test: 'mcnemar' as const, alpha: 0.05, maxRows: 1000 } },
    };
    // 3 rows won, none lost: p = 1/8, not significant at 0.05.
    const weak = one(
      [evaluated({ accuracy: 0.95, against: vsProd(0.9), mcnemar: { b: 3, c: 0 } })],
      doc,
    );
    assert.deepEqual([weak.action, weak.rule], ['reject', 'accept.significance']);
    assert.match(
      weak.reason,
      /McNemar's exact test \(one-sided, 3 rows only the candidate gets right, 0 only production\): p=0\.125 > 0\.05/,
    );
    const strong = one(
      [evaluated({ accuracy: 0.95, against: vsProd(0.9), mcnemar: { b: 9, c: 1 } })],
      doc,
    );
    assert.equal(strong.action, 'accept');
    assert.match(strong.reason, /p=0\.01074 ≤ 0\.05/);
    const big = evaluated({
      rows: 5000,
      accuracy: 0.95,
      against: vsProd(0.9),
      mcnemar: { b: 3, c: 0 },
    });
    assert.equal(one([big], doc).action, 'accept', 'past maxRows the gain stands on its own');
  });

  test('significance: a bootstrap interval of the difference must clear 0', () => {
    const doc = { accept: { significance: { test: 'bootstrap' as const, alpha: 0.05 } } };
    const q = (lo: number) => ({ accuracy: { '0.05': lo, '0.95': lo + 0.1 } });
    const clear = one(
      [evaluated({ accuracy: 0.95, against: vsProd(0.9), quantiles: q(0.01) })],
      doc,
    );
    assert.equal(clear.action, 'accept');
    assert.match(
      clear.reason,
      /bootstrap \(500 resamples\): the lower 95% bound of the accuracy difference is 0\.01, clear of 0/,
    );
    const straddles = one(
      [evaluated({ accuracy: 0.95, against: vsProd(0.9), quantiles: q(-0.01) })],
      doc,
    );
    assert.deepEqual([straddles.action, straddles.rule], ['reject', 'accept.significance']);
  });

  test('a candidate that could not be evaluated is rejected with why; so is one without the metric', () => {
    const d = one([
      evaluated({ error: 'model "digits" input "x" takes 784 values per row; the dataset has 64' }),
    ]);
    assert.deepEqual([d.action, d.rule], ['reject', 'accept.evaluation']);
    assert.match(d.reason, /could not be evaluated: .*784 values per row/);
    const noLoss = one([evaluated({ against: vsProd(0.9) })], { accept: { metric: 'macroF1' } });
    assert.deepEqual([noLoss.action, noLoss.rule], ['reject', 'accept.metric']);
  });

  test('production that cannot run on the rows leaves the baseline as the only bar', () => {
    const d = one([evaluated({ accuracy: 0.95, against: { gen: 1, error: 'takes 784 values' } })]);
    assert.deepEqual([d.action, d.rule], ['accept', 'accept.productionNotComparable']);
    assert.match(
      d.reason,
      /production gen 1 cannot be compared on these rows \(takes 784 values\)/,
    );
  });

  test('lower-is-better metrics compare the other way; valAccuracy names accuracy', () => {
    const doc = { accept: { metric: 'logLoss' as const } };
    assert.equal(
      one([evaluated({ logLoss: 0.2, against: vsProd(0.99, 0.3) })], doc).action,
      'accept',
    );
    const worse = one([evaluated({ logLoss: 0.4, against: vsProd(0.5, 0.3) })], doc);
    assert.equal(worse.action, 'reject');
    assert.match(worse.reason, /lower is better/);
    const legacy = { accept: { metric: 'valAccuracy' as const } };
    assert.match(
      one([evaluated({ accuracy: 0.95, against: vsProd(0.9) })], legacy).reason,
      /measured accuracy/,
    );
  });

  test('a candidate from a session told to stop is rejected, not accepted behind the stop', () => {
    // The trainer finished its last epoch before the stop reached it, and exported anyway.
    const { decisions } = run([queued(), epoch(1, 0.9), epoch(2, null), evaluated()]);
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

  test('an evaluation against another production is stale; production itself is not decided', () => {
    const p = EvaluatedPayload.parse(evaluated({ against: vsProd(0.9) }).payload);
    assert.equal(isStale(p, 1), false);
    assert.equal(isStale(p, 3), true);
    assert.equal(isStale(p, null), true);
    assert.equal(isStale(EvaluatedPayload.parse(evaluated().payload), null), false);
    assert.deepEqual(run([evaluated({ gen: 1 })], {}, prod).decisions, []);
  });

  test('per-model overrides apply to their model only', () => {
    const doc = { accept: { margin: 0 }, perModel: { strict: { accept: { margin: 0.2 } } } };
    const e = (model: string) =>
      evaluated({ model, accuracy: 0.6, baseline: 0.1, against: vsProd(0.5) });
    assert.equal(one([e('strict')], doc).action, 'reject');
    assert.equal(one([e('other')], doc).action, 'accept');
    const stopDoc = { perModel: { fragile: { stop: { lossRiseEpochs: 1 } } } };
    const events = (m: string) => [queued(m), epoch(1, 0.5), epoch(2, 0.6)];
    assert.equal(run(events('fragile'), stopDoc).decisions.length, 1);
    assert.equal(run(events('other'), stopDoc).decisions.length, 0);
  });
});
