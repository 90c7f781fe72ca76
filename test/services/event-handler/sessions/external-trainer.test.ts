import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { api, type TestPlatform } from '../../../helpers/platform.js';
import { mlpModel } from '../../../helpers/onnx-models.js';
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

    test('reads rows over HTTP, posts epochs, uploads a candidate that the platform judges itself', async () => {
      // The file the script uploads (it cannot write protobuf with the stdlib) is not the model
      // whose accuracy it reports: an untrained 64-10 network, where it reports its own
      // nearest-centroid classifier's. The platform measures the file and flags the lie.
      const onnxPath = join(dir, 'model.onnx');
      writeFileSync(onnxPath, mlpModel([64, 10], 11));

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
      const reported = epochs[1].payload.valAccuracy as number;
      const registry = platform.registry;
      const rejected = await waitFor(
        async () => {
          const [g] = await registry.listGenerations('ext');
          return g?.status === 'rejected' ? g : undefined;
        },
        { timeoutMs: 30_000, what: 'the candidate judged' },
      );
      assert.equal(rejected.sessionId, id);
      assert.deepEqual(rejected.lineage, { dataset: 'digits', version: 1 });
      assert.equal(await registry.getProduction('ext'), null);
      // Both figures in the reason: what it reported, and what the platform measured.
      const measured = rejected.evaluation!.metrics.accuracy!;
      assert.ok(measured < 0.3, `an untrained network measured at ${measured}`);
      assert.equal(
        rejected.metrics.valAccuracy,
        reported,
        'the reported figure is kept as reported',
      );
      const fmt = (v: number) => String(Number(v.toPrecision(4)));
      assert.ok(
        rejected.reason!.startsWith(
          `reported valAccuracy ${fmt(reported)} but measured accuracy ${fmt(measured)} on digits@1 (`,
        ),
        rejected.reason,
      );
      // The worker is flagged for it, with the same reason.
      const s = await waitFor(
        async () => {
          const b = (await api(p, 'GET', `/api/v1/sessions/${id}`)).body;
          return b.events.some((e: { kind: string }) => e.kind === 'worker.flagged')
            ? b
            : undefined;
        },
        { timeoutMs: 10_000, what: 'worker flagged' },
      );
      const flagged = s.events.find((e: { kind: string }) => e.kind === 'worker.flagged');
      assert.equal(flagged.payload.rule, 'accept.reportedMismatch');
      assert.equal(flagged.payload.reason, rejected.reason);
      assert.deepEqual(s.flags, ['accept.reportedMismatch']);
    });
  },
);
