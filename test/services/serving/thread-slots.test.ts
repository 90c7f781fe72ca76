/**
 * Thread hosting hands tensors over through shared-memory slots that start at 64 KB and are
 * replaced by bigger ones when a request or an answer outgrows them. Requests of every size, in
 * flight together, each get their own answer, and errors come back as typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/index.js';
import { ModelProcess } from '../../../services/serving/hosting/supervisor.js';
import { WorkerSpawner } from '../../../services/serving/hosting/worker-spawner.js';
import type { TensorMap } from '../../../services/serving/tensors/tensors.js';
import { addConstantModel, seededFloats } from '../../helpers/onnx-models.js';

test('thread hosting: small and large tensors through shared memory, in flight together', async () => {
  const log = createLogger('serving', 'silent');
  const spawner = new WorkerSpawner({ keepSpare: false, log, mode: 'thread' });
  const proc = new ModelProcess({
    group: 'add',
    session: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, spinning: false },
    log,
    spawner,
  });
  try {
    await proc.start();
    assert.equal(proc.mode, 'thread');
    assert.equal(proc.pid, process.pid);
    await proc.load('add', 1, addConstantModel({ value: 1 }));
    const input = (rows: number, seed: number): TensorMap => ({
      x: { type: 'float32', dims: [rows, 4], data: seededFloats(rows * 4, seed) },
    });
    // 1 row fits the first slot; 40,000 rows (640 KB) and 100,000 rows (1.6 MB) outgrow it
    // both ways; then small ones again on the grown slots.
    const sizes = [1, 40_000, 3, 100_000, 1, 2, 40_000, 1];
    const inputs = sizes.map((rows, i) => input(rows, i + 1));
    const outputs = await Promise.all(inputs.map((x) => proc.run('add', 1, x)));
    outputs.forEach((out, i) => {
      const x = inputs[i]!.x!.data as Float32Array;
      const y = out.y!;
      assert.deepEqual(y.dims, [sizes[i], 4]);
      assert.equal(y.data.length, x.length);
      for (const j of [0, x.length >> 1, x.length - 1]) {
        assert.equal(y.data[j], Math.fround(x[j]! + 1), `request ${i}, element ${j}`);
      }
    });
    await assert.rejects(
      proc.run('add', 1, input(1, 9)).then(() => proc.run('nope', 1, input(1, 9))),
      /not loaded/,
    );
    await assert.rejects(
      proc.run('add', 1, { x: { type: 'float32', dims: [1, 5], data: new Float32Array(5) } }),
      (err: Error & { code?: string }) => err.code === 'BAD_INPUT',
    );
  } finally {
    await proc.close();
    await spawner.close();
  }
});
