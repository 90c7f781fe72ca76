import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_RULES, type EffectiveRollout } from '../../../../shared/index.js';
import {
  delta,
  parseCounters,
  quantileMs,
  readGates,
  stepSamples,
  type Counters,
} from '../../../../services/event-listener/rollout/gates.js';

const policy = (o: Partial<EffectiveRollout> = {}, gates = {}): EffectiveRollout => ({
  ...DEFAULT_RULES.rollout,
  minSamples: 100,
  ...o,
  gates: { ...DEFAULT_RULES.rollout.gates, ...gates },
});

/** A step's figures: the challenger's and production's deltas, and since-start feedback. */
function figures(c: Counters, p: Counters, cStart: Counters = c, pStart: Counters = p) {
  return {
    samples: stepSamples(c),
    challenger: c,
    production: p,
    challengerSinceStart: cStart,
    productionSinceStart: pStart,
  };
}

describe('gate readings from online counters', () => {
  test('counters parse from a hash and step deltas subtract the baseline', () => {
    const now = parseCounters({ requests: '150', errors: '3', latencyMsSum: '12.5', junk: 'x' });
    assert.deepEqual(now, { requests: 150, errors: 3, latencyMsSum: 12.5 });
    assert.deepEqual(delta(now, { requests: 100, errors: 1 }), {
      requests: 50,
      errors: 2,
      latencyMsSum: 12.5,
    });
    // A counter that went backwards was reset (its key deleted): it counts from zero.
    assert.deepEqual(delta({ requests: 5 }, { requests: 100 }), { requests: 5 });
  });

  test('p99 is the upper bound of the bucket where 99% of requests are reached', () => {
    assert.equal(quantileMs({}, 0.99), null);
    assert.equal(quantileMs({ 'lat:1': 98, 'lat:2': 1, 'lat:50': 1 }, 0.99), 2);
    assert.equal(quantileMs({ 'lat:1': 98, 'lat:50': 2 }, 0.99), 50);
    assert.equal(quantileMs({ 'lat:1': 50, 'lat:3': 50 }, 0.5), 1);
    // Past the last bound: twice the largest finite bound seen.
    assert.equal(quantileMs({ 'lat:5000': 1, 'lat:+Inf': 99 }, 0.99), 10_000);
  });

  test('a step with too few samples counts nothing, whatever its figures', () => {
    const v = readGates(
      figures({ requests: 10, errors: 10, 'lat:1': 10 }, { 'lat:1': 10 }),
      policy(),
    );
    assert.equal(v.enough, false);
    assert.equal(v.failed, undefined);
    assert.ok(v.readings.every((r) => r.passed === null));
    assert.match(v.text, /^10 samples \(100 needed\)/);
  });

  test('error rate, p99 ratio and agreement pass and fail on their limits', () => {
    const p = { requests: 500, 'lat:2': 495, 'lat:5': 5 };
    // Mirrored requests count in `requests` and `errors` too, as serving records them.
    const good = {
      requests: 200,
      errors: 1,
      shadowSent: 200,
      shadowErrors: 1,
      shadowCompared: 200,
      shadowAgreed: 190,
    };
    const pass = readGates(
      figures({ ...good, 'lat:3': 200 }, p),
      policy({}, { minAgreement: 0.9 }),
    );
    assert.equal(pass.enough, true);
    assert.equal(pass.failed, undefined);
    const by = Object.fromEntries(pass.readings.map((r) => [r.gate, r]));
    assert.deepEqual(by.errorRate, {
      gate: 'errorRate',
      value: 0.005,
      threshold: 0.01,
      passed: true,
    });
    assert.deepEqual(by.p99Ratio, { gate: 'p99Ratio', value: 1.5, threshold: 2, passed: true });
    assert.deepEqual(by.agreement, {
      gate: 'agreement',
      value: 0.95,
      threshold: 0.9,
      passed: true,
    });
    // Too few labels: the accuracy gate reads nothing and blocks nothing.
    assert.equal(by.accuracyDrop!.passed, null);

    const errs = readGates(figures({ requests: 200, errors: 5, 'lat:2': 200 }, p), policy());
    assert.equal(errs.failed?.gate, 'errorRate');
    assert.equal(errs.failed?.value, 0.025);
    assert.match(errs.text, /errorRate 0\.025 \(limit 0\.01; 5 errors in 200 requests\) FAILED/);

    const slow = readGates(figures({ requests: 200, 'lat:15': 200 }, p), policy());
    assert.deepEqual(
      [slow.failed?.gate, slow.failed?.value, slow.failed?.threshold],
      ['p99Ratio', 7.5, 2],
    );
    const disagree = readGates(figures(good, p), policy({}, { minAgreement: 0.99 }));
    assert.equal(disagree.failed?.gate, 'agreement');
  });

  test('the accuracy gate compares labels since the rollout began, once both have enough', () => {
    const step = { requests: 200, 'lat:1': 200 };
    const prod = { requests: 200, 'lat:1': 200 };
    const worse = readGates(
      figures(
        step,
        prod,
        { feedback: 40, feedbackCorrect: 12 },
        { feedback: 40, feedbackCorrect: 36 },
      ),
      policy(),
    );
    assert.equal(worse.failed?.gate, 'accuracyDrop');
    assert.equal(worse.failed?.value, 0.6);
    assert.match(worse.text, /online accuracy 0\.3 on 40 labels against production's 0\.9 on 40/);
    const close = readGates(
      figures(
        step,
        prod,
        { feedback: 40, feedbackCorrect: 35 },
        { feedback: 40, feedbackCorrect: 35 },
      ),
      policy(),
    );
    assert.equal(close.failed, undefined);
    assert.equal(close.readings.find((r) => r.gate === 'accuracyDrop')?.passed, true);
    // 29 labels of 30 needed: not counted, even though it looks bad.
    const few = readGates(
      figures(
        step,
        prod,
        { feedback: 29, feedbackCorrect: 0 },
        { feedback: 40, feedbackCorrect: 40 },
      ),
      policy(),
    );
    assert.equal(few.failed, undefined);
    // A gate set to null is not read at all.
    const off = readGates(
      figures(step, prod),
      policy({}, { maxAccuracyDrop: null, maxP99Ratio: null }),
    );
    assert.deepEqual(
      off.readings.map((r) => r.gate),
      ['errorRate'],
    );
  });
});
