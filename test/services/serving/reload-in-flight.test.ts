/**
 * The optimizer replaces a generation's session with its optimized twin while requests run on
 * the first; the stack test saw one of them fail with "Session already disposed". A replaced
 * or unloaded session must finish the runs it started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../shared/index.js';
import { ModelProcess } from '../../../services/serving/hosting/supervisor.js';
import { WorkerSpawner } from '../../../services/serving/hosting/worker-spawner.js';
import type { TensorMap } from '../../../services/serving/tensors/tensors.js';
import { seededFloats, slowModel } from '../../helpers/onnx-models.js';

const SIZE = 128;

for (const mode of ['process', 'thread', 'inline'] as const) {
  test(`${mode}: reloading or unloading a generation lets the runs already on it finish`, async () => {
    const log = createLogger('serving', 'silent');
    const spawner = new WorkerSpawner({ keepSpare: false, log, mode });
    const proc = new ModelProcess({
      group: 'slow',
      session: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, spinning: false },
      log,
      spawner,
    });
    try {
      await proc.start();
      const bytes = slowModel({ size: SIZE, depth: 4 });
      await proc.load('slow', 1, bytes);
      const rows = 8;
      const inputs = (): TensorMap => ({
        x: { type: 'float32', dims: [rows, SIZE], data: seededFloats(rows * SIZE, 1) },
      });
      const runs = () => Array.from({ length: 6 }, () => proc.run('slow', 1, inputs()));

      // Replaced while running: every run started before the reload still answers.
      const first = runs();
      await proc.load('slow', 1, bytes);
      const second = runs();
      for (const r of await Promise.allSettled([...first, ...second])) {
        assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      }

      // Unloaded while running: the runs in progress finish, later ones are refused plainly.
      const third = runs();
      await proc.unload('slow', 1);
      for (const r of await Promise.allSettled(third)) {
        assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      }
      await assert.rejects(proc.run('slow', 1, inputs()), /not loaded/);
    } finally {
      await proc.close();
      await spawner.close();
    }
  });
}
