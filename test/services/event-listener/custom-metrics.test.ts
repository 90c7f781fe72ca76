import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decide } from '../../../services/event-listener/rules-engine.js';
import {
  emptyView,
  observe,
  type SessionView,
} from '../../../services/event-listener/session-view.js';
import { WorkerEvent } from '../../../shared/protocol/events.js';
import {
  RulesDocument,
  effectiveRules,
  metricHigherIsBetter,
  type RulesDocumentInput,
} from '../../../shared/protocol/rules.js';
import type { StoredEvent } from '../../../shared/store/event-log.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function epochs(points: Record<string, number | null>[]): StoredEvent[] {
  return points.map((p, i) => ({
    id: `${T0 + i}-0`,
    kind: 'epoch',
    payload: WorkerEvent.parse({
      kind: 'epoch',
      payload: { epoch: i + 1, epochs: points.length, loss: 1 / (i + 1), ...p },
    }).payload,
    time: new Date(T0 + i * 1000).toISOString(),
    sessionId: 's1',
  }));
}

function stops(events: StoredEvent[], doc: RulesDocumentInput) {
  const parsed = RulesDocument.parse(doc);
  let view: SessionView = emptyView('s1');
  const out = [];
  for (const e of events) {
    view = observe(view, e);
    out.push(...decide(view, e, (m) => effectiveRules(parsed, m), null));
  }
  return out.map((d) => d.decision);
}

describe('custom metrics', () => {
  test('an epoch event keeps every numeric metric a worker reports', () => {
    const e = WorkerEvent.parse({
      kind: 'epoch',
      payload: { epoch: 1, epochs: 2, loss: 0.5, rmse: 0.3, f1: 0.8, macroF1: 0.7, odd: null },
    });
    assert.deepEqual(e.payload, {
      epoch: 1,
      epochs: 2,
      loss: 0.5,
      rmse: 0.3,
      f1: 0.8,
      macroF1: 0.7,
      odd: null,
    });
  });

  test('a non-numeric metric, a bad name or too many metrics are refused', () => {
    const base = { epoch: 1, epochs: 1, loss: 0.1 };
    for (const payload of [
      { ...base, note: 'text' },
      { ...base, 'bad name': 1 },
      { ...base, ...Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, i])) },
    ]) {
      assert.equal(WorkerEvent.safeParse({ kind: 'epoch', payload }).success, false);
    }
  });

  test('a rule on an undeclared custom metric is a 400-class error naming the fix', () => {
    const bad = RulesDocument.safeParse({ stop: { lossMetric: 'macroF1x' } });
    assert.equal(bad.success, false);
    assert.match(bad.error.issues[0]!.message, /metrics\.macroF1x\.higherIsBetter/);
    assert.deepEqual(bad.error.issues[0]!.path, ['stop', 'lossMetric']);
    const perModel = RulesDocument.safeParse({ perModel: { m: { stop: { lossMetric: 'q' } } } });
    assert.deepEqual(perModel.error!.issues[0]!.path, ['perModel', 'm', 'stop', 'lossMetric']);
    assert.ok(RulesDocument.safeParse({ stop: { lossMetric: 'macroF1' } }).success, 'known');
    assert.equal(metricHigherIsBetter('q', { q: { higherIsBetter: false } }), false);
    assert.equal(metricHigherIsBetter('rmse'), false);
  });

  test('a higher-is-better metric that keeps falling stops the session, reported values shown', () => {
    const events = epochs([{ score: 0.8 }, { score: 0.7 }, { score: 0.6 }, { score: 0.5 }]);
    const doc = {
      metrics: { score: { higherIsBetter: true } },
      stop: { lossMetric: 'score', lossRiseEpochs: 3, plateauEpochs: null },
    };
    const [d, ...rest] = stops(events, doc);
    assert.equal(rest.length, 0);
    assert.equal(d!.rule, 'stop.lossRiseEpochs');
    assert.equal(
      d!.reason,
      'score fell for 3 consecutive epochs (0.8 → 0.7 → 0.6 → 0.5) at epoch 4',
    );
    // The same figures rising is improvement: no stop.
    const rising = epochs([{ score: 0.5 }, { score: 0.6 }, { score: 0.7 }, { score: 0.8 }]);
    assert.deepEqual(stops(rising, doc), []);
    // Declared lower-is-better, the rising series is the one that stops.
    const lower = { ...doc, metrics: { score: { higherIsBetter: false } } };
    assert.equal(stops(rising, lower)[0]?.reason.startsWith('score rose for 3'), true);
  });

  test('the plateau rule watches the best value in the declared direction', () => {
    const flat = epochs([
      { macroF1: 0.9 },
      { macroF1: 0.85 },
      { macroF1: 0.88 },
      { macroF1: 0.89 },
    ]);
    const [d] = stops(flat, {
      stop: { lossMetric: 'macroF1', plateauEpochs: 3, lossRiseEpochs: null },
    });
    assert.equal(d?.rule, 'stop.plateauEpochs');
    assert.match(
      d.reason,
      /^macroF1 plateaued: best 0\.89 in the last 3 epochs did not improve on 0\.9 /,
    );
  });
});
