/**
 * Thread hosting contains what a worker thread can contain: an uncaught JavaScript exception or
 * heap exhaustion (the thread's resourceLimits) ends that model's thread, the supervisor starts
 * a new one and reloads its generations, and the other models keep answering. `auto` hosting
 * keeps a quick model in a thread and moves a compute-bound one to a process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addConstantModel, slowModel } from '../../helpers/onnx-models.js';
import { waitFor } from '../../helpers/wait.js';
import { RecordingSource, startServing, v2Body, type Serving } from './harness.js';

let s: Serving;
let src: RecordingSource;
before(async () => {
  src = new RecordingSource();
  src
    .put('a', 1, addConstantModel({ value: 1 }), { production: true })
    .put('b', 1, addConstantModel({ value: 2 }), { production: true })
    .put('slow', 1, slowModel({ size: 512, depth: 4 }), { production: true });
  // A small heap cap so that exhausting it takes a moment, not gigabytes.
  s = await startServing(src, { HOSTING_MODE: 'auto', THREAD_HEAP_MB: '96', SPARE_PROCESS: '1' });
});
after(() => s.stop());

test('auto hosting: quick models in threads, the compute-bound one in a process, recorded', () => {
  const hosting = Object.fromEntries(s.app.fleet.processes().map((p) => [p.group, p.hosting]));
  assert.deepEqual(hosting, { a: 'thread', b: 'thread', slow: 'process' });
  const slow = s.app.fleet.processes().find((p) => p.group === 'slow')!;
  assert.notEqual(slow.pid, process.pid);
  const a = src.recorded.get('a@1')!;
  const heavy = src.recorded.get('slow@1')!;
  console.log(`one-row run: a ${a.runUs} µs (thread), slow ${heavy.runUs} µs (process)`);
  assert.equal(a.hosting, 'thread');
  assert.equal(heavy.hosting, 'process');
  assert.ok(heavy.runUs >= 2000, `slow ran in ${heavy.runUs} µs`);
});

for (const how of ['throw', 'oom'] as const) {
  test(`${how === 'throw' ? 'an uncaught exception' : 'heap exhaustion'} in a model thread: contained, the model comes back`, async () => {
    const before = s.app.fleet.process('a')!.restarts;
    const bAnswers: number[] = [];
    let stop = false;
    const loopB = (async () => {
      while (!stop) {
        const r = await s.post('/v2/models/b/infer', v2Body('x', [1, 4], [1, 2, 3, 4]));
        bAnswers.push(r.status);
      }
    })();
    try {
      await waitFor(() => bAnswers.length > 10, { what: 'traffic on b' });
      const t0 = Date.now();
      await s.app.fleet.process('a')!.fault(how);
      await waitFor(() => s.app.fleet.process('a')!.restarts === before + 1, {
        timeoutMs: 20_000,
        what: 'model a restarted',
      });
      const r = await waitFor(
        async () => {
          const res = await s.post('/v2/models/a/infer', v2Body('x', [1, 4], [1, 2, 3, 4]));
          return res.status === 200 ? res : undefined;
        },
        { what: 'model a answering again' },
      );
      console.log(`${how}: model a answered again after ${Date.now() - t0} ms`);
      assert.deepEqual(r.body.outputs[0].data, [2, 3, 4, 5]);
      const seen = bAnswers.length;
      await waitFor(() => bAnswers.length > seen + 10, { what: 'traffic on b after' });
    } finally {
      stop = true;
      await loopB;
    }
    assert.ok(
      bAnswers.every((st) => st === 200),
      `model b saw ${bAnswers.filter((st) => st !== 200).join(',')}`,
    );
    const info = s.app.fleet.processes().find((p) => p.group === 'a')!;
    assert.equal(info.hosting, 'thread');
    assert.equal(info.pid, process.pid); // the serving process itself lived through it
    assert.equal(info.state, 'ready');
  });
}
