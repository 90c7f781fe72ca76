/**
 * Hosting `inline` (a model on serving's own thread) is opt-in, per model or for all: it answers
 * like the other modes, is recorded on the generation, is never what `auto` picks, and refuses
 * a fault injection instead of taking serving down with it (it has no worker to lose).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addConstantModel } from '../../helpers/onnx-models.js';
import { RecordingSource, startServing, v2Body, type Serving } from './harness.js';

let s: Serving;
let src: RecordingSource;
before(async () => {
  src = new RecordingSource();
  src
    .put('a', 1, addConstantModel({ value: 1 }), { production: true })
    .put('b', 1, addConstantModel({ value: 2 }), { production: true });
  s = await startServing(src, { HOSTING_MODE: 'auto', HOSTING_OVERRIDES: '{"a":"inline"}' });
});
after(() => s.stop());

test('inline by override, auto elsewhere: both answer, each recorded as hosted', async () => {
  const hosting = Object.fromEntries(s.app.fleet.processes().map((p) => [p.group, p.hosting]));
  assert.deepEqual(hosting, { a: 'inline', b: 'thread' });
  const a = s.app.fleet.processes().find((p) => p.group === 'a')!;
  assert.equal(a.pid, process.pid);
  assert.equal(a.threadId, undefined);
  assert.equal(src.recorded.get('a@1')?.hosting, 'inline');
  assert.equal(src.recorded.get('b@1')?.hosting, 'thread');

  const answers = await Promise.all(
    Array.from({ length: 32 }, (_, i) =>
      s.post('/v2/models/a/infer', v2Body('x', [2, 4], [i, 1, 2, 3, 4, 5, 6, 7])),
    ),
  );
  answers.forEach((r, i) => {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.outputs[0].data, [i + 1, 2, 3, 4, 5, 6, 7, 8]);
  });
  const b = await s.post('/v2/models/b/infer', v2Body('x', [1, 4], [1, 2, 3, 4]));
  assert.deepEqual(b.body.outputs[0].data, [3, 4, 5, 6]);
});

test('bad input to an inline model is a 400 naming the model; serving keeps answering', async () => {
  const bad = await s.post('/v2/models/a/infer', v2Body('x', [1, 5], [1, 2, 3, 4, 5]));
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.equal(bad.body.code, 'BAD_INPUT');
  assert.match(bad.body.error, /model "a" expects \[-1, 4\]/);
  const ok = await s.post('/v2/models/a/infer', v2Body('x', [1, 4], [1, 2, 3, 4]));
  assert.equal(ok.status, 200);
});

test('a fault injection is refused, not run on serving itself', async () => {
  await assert.rejects(s.app.fleet.process('a')!.fault('throw'), /no worker to fault/);
  const r = await s.post('/v2/models/a/infer', v2Body('x', [1, 4], [1, 2, 3, 4]));
  assert.deepEqual(r.body.outputs[0].data, [2, 3, 4, 5]);
  assert.equal(s.app.fleet.process('a')!.restarts, 0);
});
