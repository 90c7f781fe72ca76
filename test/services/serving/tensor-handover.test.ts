/**
 * How tensors reach a model worker and come back, every way of hosting:
 * - thread: shared-memory slots that start at 64 KB and are replaced by bigger ones when a
 *   request or an answer outgrows them;
 * - process: small tensors inside the IPC message, large ones through a slot file in shared
 *   memory (tensor-files.ts), removed when the process's link closes.
 * - inline: no hand-off, the tensors are passed by reference (inline-link.ts).
 * Requests of every size, in flight together, each get their own answer, and errors come back
 * as typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../shared/index.js';
import { ModelProcess } from '../../../services/serving/hosting/supervisor.js';
import { WorkerSpawner } from '../../../services/serving/hosting/worker-spawner.js';
import type { HostingMode } from '../../../services/serving/hosting/worker-link.js';
import type { TensorMap } from '../../../services/serving/tensors/tensors.js';
import {
  readTensors,
  SlotFiles,
  sweepStaleTensorFiles,
  tensorFileDir,
  writeTensors,
} from '../../../services/serving/hosting/tensor-files.js';
import { addConstantModel, seededFloats } from '../../helpers/onnx-models.js';

/** This process's slot files in the shared-memory directory. */
const ourFiles = () =>
  readdirSync(tensorFileDir()).filter((n) => n.startsWith(`swarmml-tensors-${process.pid}-`));

for (const mode of ['thread', 'process', 'inline'] as HostingMode[]) {
  test(`${mode} hosting: small and large tensors in flight together`, async () => {
    const log = createLogger('serving', 'silent');
    const spawner = new WorkerSpawner({ keepSpare: false, log, mode });
    const proc = new ModelProcess({
      group: 'add',
      session: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, spinning: false },
      log,
      spawner,
    });
    const filesBefore = ourFiles();
    try {
      await proc.start();
      assert.equal(proc.mode, mode);
      if (mode !== 'process') assert.equal(proc.pid, process.pid);
      else assert.notEqual(proc.pid, process.pid);
      await proc.load('add', 1, addConstantModel({ value: 1 }));
      const input = (rows: number, seed: number): TensorMap => ({
        x: { type: 'float32', dims: [rows, 4], data: seededFloats(rows * 4, seed) },
      });
      // 1 row fits a first slot and an IPC message; 40,000 rows (640 KB) and 100,000 rows
      // (1.6 MB) outgrow a slot and go through a file; then small ones again.
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
      if (mode === 'process') {
        assert.ok(ourFiles().length > filesBefore.length, 'large runs went through slot files');
      }
      await assert.rejects(
        proc.run('add', 1, input(1, 9)).then(() => proc.run('nope', 1, input(40_000, 9))),
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
    assert.deepEqual(ourFiles(), filesBefore, 'slot files removed with the process');
  });
}

test('slot files: tensors of every kind round-trip; files go with their owner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-slots-'));
  try {
    const files = new SlotFiles(dir);
    // A name left behind (a reused pid) is replaced; a link planted there is not followed.
    const target = join(dir, 'not-ours');
    writeFileSync(target, 'keep');
    symlinkSync(target, files.path(0));
    const a = files.take()!;
    assert.equal(readFileSync(target, 'utf8'), 'keep');
    const b = files.take()!;
    assert.notEqual(a, b);
    const tensors: TensorMap = {
      f: { type: 'float32', dims: [2, 3], data: Float32Array.from([1.5, -2, 3, 4, 5, 6]) },
      i: { type: 'int64', dims: [2], data: BigInt64Array.from([-(2n ** 40n), 7n]) },
      u: { type: 'uint8', dims: [3], data: new Uint8Array([0, 128, 255]) },
      // a view into a larger buffer: only its own bytes may be written
      v: { type: 'int32', dims: [2], data: new Int32Array([9, 10, 11, 12]).subarray(1, 3) },
    };
    const back = readTensors(files.fd(a), writeTensors(files.fd(a), tensors));
    for (const [name, t] of Object.entries(tensors)) {
      assert.equal(back[name]!.type, t.type);
      assert.deepEqual(back[name]!.dims, t.dims);
      assert.deepEqual([...back[name]!.data], [...t.data], name);
    }
    assert.throws(
      () => readTensors(files.fd(b), { f: { type: 'float32', dims: [4], offset: 0, bytes: 16 } }),
      /ended/,
    );
    files.release(a);
    assert.equal(files.take(), a, 'a released slot is taken again');
    assert.equal(readdirSync(dir).length, 3);
    files.close();
    assert.deepEqual(readdirSync(dir), ['not-ours']);
    rmSync(target);
    assert.equal(files.take(), undefined, 'no slot after close');

    // Files of a serving process that is gone are swept; a live one's are kept.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']);
    const deadPid = Number(dead.stdout.toString().trim());
    writeFileSync(join(dir, `swarmml-tensors-${deadPid}-1-0`), 'x');
    writeFileSync(join(dir, `swarmml-tensors-${process.ppid}-1-0`), 'x');
    writeFileSync(join(dir, 'unrelated'), 'x');
    sweepStaleTensorFiles(dir);
    assert.deepEqual(readdirSync(dir).sort(), [`swarmml-tensors-${process.ppid}-1-0`, 'unrelated']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
