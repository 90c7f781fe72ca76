import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInput, Unavailable } from '../../../shared/errors.js';
import {
  DynamicBatcher,
  takeBatch,
  compatKey,
} from '../../../services/serving/hosting/dynamic-batcher.js';
import type { TensorMap } from '../../../services/serving/tensors/tensors.js';

const rows = (n: number, width = 2, start = 0): TensorMap => ({
  x: {
    type: 'float32',
    dims: [n, width],
    data: Float32Array.from({ length: n * width }, (_, i) => start + i),
  },
});

/** A runner that records batches and finishes each only when told. */
function gatedRunner(fail?: (inputs: TensorMap) => Error | undefined) {
  const batches: number[] = [];
  const gates: (() => void)[] = [];
  const run = async (inputs: TensorMap): Promise<TensorMap> => {
    batches.push(inputs.x!.dims[0]!);
    await new Promise<void>((r) => gates.push(r));
    const err = fail?.(inputs);
    if (err) throw err;
    const x = inputs.x!;
    return { y: { ...x, data: (x.data as Float32Array).map((v) => v * 10) } };
  };
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { run, batches, release };
}

describe('dynamic batcher', () => {
  test('an idle runner takes a lone request at once; requests arriving while busy go together', async () => {
    const r = gatedRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 64, maxDelayMs: 0, batching: true });
    const first = b.submit(rows(1));
    assert.deepEqual(r.batches, [1]);
    const later = [b.submit(rows(1, 2, 100)), b.submit(rows(2, 2, 200)), b.submit(rows(1, 2, 300))];
    assert.equal(b.depth, 3);
    await r.release();
    await first;
    await r.release();
    const outs = await Promise.all(later);
    assert.deepEqual(r.batches, [1, 4]);
    assert.deepEqual(Array.from(outs[1]!.y!.data as Float32Array), [2000, 2010, 2020, 2030]);
    assert.deepEqual(outs[1]!.y!.dims, [2, 2]);
    assert.deepEqual(Array.from(outs[2]!.y!.data as Float32Array), [3000, 3010]);
    await b.idle();
  });

  test('maxBatch caps rows per run and incompatible shapes never mix', async () => {
    const r = gatedRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 4, maxDelayMs: 0, batching: true });
    const all = [b.submit(rows(1))];
    for (let i = 0; i < 6; i++) all.push(b.submit(rows(1)));
    all.push(b.submit(rows(1, 3)));
    for (let i = 0; i < 4; i++) await r.release();
    await Promise.all(all);
    assert.deepEqual(r.batches, [1, 4, 2, 1]);
  });

  test('without batching every request runs alone', async () => {
    const r = gatedRunner();
    const b = new DynamicBatcher(r.run, { maxBatch: 64, maxDelayMs: 0, batching: false });
    const all = [b.submit(rows(1)), b.submit(rows(1)), b.submit(rows(1))];
    for (let i = 0; i < 3; i++) await r.release();
    await Promise.all(all);
    assert.deepEqual(r.batches, [1, 1, 1]);
  });

  test('maxDelayMs holds an idle runner back for a fuller batch', async () => {
    const r = gatedRunner();
    // A long delay, so that a stalled event loop cannot fire the timer before p2 is in.
    const b = new DynamicBatcher(r.run, { maxBatch: 64, maxDelayMs: 500, batching: true });
    const p1 = b.submit(rows(1));
    await new Promise((res) => setImmediate(res));
    const p2 = b.submit(rows(1));
    assert.deepEqual(r.batches, []);
    await r.release();
    await Promise.all([p1, p2]);
    assert.deepEqual(r.batches, [2]);
  });

  test('a request that breaks a batch fails alone; the others are answered', async () => {
    const poison = (inputs: TensorMap) =>
      Array.from(inputs.x!.data as Float32Array).some((v) => v < 0)
        ? new BadInput('negative')
        : undefined;
    const r = gatedRunner(poison);
    const b = new DynamicBatcher(r.run, { maxBatch: 64, maxDelayMs: 0, batching: true });
    const first = b.submit(rows(1));
    const good = b.submit(rows(1, 2, 5));
    const bad = b.submit({ x: { type: 'float32', dims: [1, 2], data: Float32Array.of(-1, 1) } });
    await r.release(); // first
    await r.release(); // the batch of two fails
    await r.release(); // good alone
    await r.release(); // bad alone
    await first;
    assert.deepEqual(Array.from((await good).y!.data as Float32Array), [50, 60]);
    await assert.rejects(bad, /negative/);
    assert.deepEqual(r.batches, [1, 2, 1, 1]);
  });

  test('a dead model process fails the whole batch at once', async () => {
    const r = gatedRunner(() => new Unavailable('process died'));
    const b = new DynamicBatcher(r.run, { maxBatch: 64, maxDelayMs: 0, batching: true });
    const all = [b.submit(rows(1)), b.submit(rows(1)), b.submit(rows(1))].map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await r.release();
    await r.release();
    assert.deepEqual(await Promise.all(all), ['process died', 'process died', 'process died']);
    assert.deepEqual(r.batches, [1, 2]);
  });

  test('takeBatch and compatKey', () => {
    const q = [
      { ...compatKey(rows(2)), id: 'a' },
      { ...compatKey(rows(1, 3)), id: 'b' },
      { ...compatKey(rows(3)), id: 'c' },
      { ...compatKey(rows(1)), id: 'd' },
    ];
    assert.deepEqual(
      takeBatch(q, 5).map((x) => x.id),
      ['a', 'c'],
    );
    assert.deepEqual(
      q.map((x) => x.id),
      ['b', 'd'],
    );
  });
});
