import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainModel } from '../../../../services/trainer/train-loop.js';
import { parseTrainerParams } from '../../../../shared/protocol/model-spec.js';
import { exportOnnx } from '../../../../services/trainer/onnx-export.js';
import { api, type TestPlatform } from '../../../helpers/platform.js';
import { loadDigits } from '../../../helpers/datasets.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const skip = !existsSync(PYTHON) ? `no ${PYTHON}` : false;

describe(
  'an external trainer in Python (standard library only) follows the worker contract',
  { skip },
  () => {
    let platform: DigitsPlatform;
    let p: TestPlatform;
    let dir: string;
    before(async () => {
      const env = { ALLOWED_COMMANDS: PYTHON };
      platform = await startDigitsPlatform({ handlerEnv: env, gatewayEnv: env });
      p = platform.p;
      dir = mkdtempSync(join(tmpdir(), 'swarmml-ext-'));
    });
    after(async () => {
      await platform?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('reads rows over HTTP, posts epochs, uploads a candidate that the listener decides', async () => {
      // The model file the script uploads (it cannot write protobuf with the stdlib).
      const d = loadDigits();
      const params = parseTrainerParams({ trainer: 'softmax', epochs: 3 });
      const { model } = await trainModel({
        params,
        train: { x: d.features, y: Int32Array.from(d.labels), rows: d.rows },
        dim: d.dim,
        classes: 10,
      });
      const onnxPath = join(dir, 'model.onnx');
      writeFileSync(onnxPath, exportOnnx(model));

      const refused = await api(p, 'POST', '/api/v1/sessions', {
        model: 'ext',
        dataset: 'digits',
        trainer: 'external',
        container: { command: ['/bin/sh', '-c', 'echo pwned'] },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error, 'NOT_ALLOWED');

      const created = await api(p, 'POST', '/api/v1/sessions', {
        model: 'ext',
        dataset: 'digits',
        trainer: 'external',
        params: { epochs: 2, onnx_path: onnxPath },
        container: { command: [PYTHON, resolve('test/fixtures/external_trainer.py')] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      const done = await waitFor(
        async () => {
          const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
          return ['succeeded', 'failed', 'stopped'].includes(b.state) ? b : undefined;
        },
        { timeoutMs: 60_000, what: 'external session end' },
      );
      assert.equal(done.state, 'succeeded', JSON.stringify(done.lastLogs));
      const epochs = done.events.filter((e: { kind: string }) => e.kind === 'epoch');
      assert.equal(epochs.length, 2);
      assert.ok(epochs[1].payload.valAccuracy > 0.8, JSON.stringify(epochs[1].payload));
      const registry = platform.registry;
      const prod = await waitFor(() => registry.getProduction('ext'), {
        timeoutMs: 15_000,
        what: 'accepted',
      });
      assert.equal(prod.sessionId, id);
      assert.deepEqual(prod.lineage, { dataset: 'digits', version: 1 });
    });
  },
);
