import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { AppError } from '../../../../shared/errors.js';
import type { WorkerExit } from '../../../../services/event-handler/backend.js';
import {
  SCOPE_LABEL,
  SwarmBackend,
} from '../../../../services/event-handler/swarm/swarm-backend.js';
import { waitFor } from '../../../helpers/wait.js';
import { percentile, swarmEnv } from './swarm-env.js';

const env = swarmEnv();
const IMAGE = 'debian:bookworm-slim';

describe('SwarmBackend against a real swarm', { skip: env.skip }, () => {
  const docker = env.docker as Docker;
  const scope = `t-${randomUUID().slice(0, 8)}`;
  const backend = new SwarmBackend({
    docker,
    scope,
    image: IMAGE,
    namePrefix: scope,
    pollMs: 300,
    stopGraceMs: 1000,
    policy: { images: [IMAGE] },
  });
  const exits: WorkerExit[] = [];
  backend.onExit((e) => exits.push(e));

  const scopeServices = () =>
    docker.listServices({ filters: { label: [`${SCOPE_LABEL}=${scope}`] } });
  const exitOf = (workerId: string) =>
    waitFor(() => exits.find((e) => e.workerId === workerId), {
      timeoutMs: 20_000,
      what: `exit of ${workerId}`,
    });

  after(async () => {
    await backend.close();
    for (const s of await scopeServices())
      await docker
        .getService(s.ID)
        .remove()
        .catch(() => {});
  });

  test('a worker that exits 3 is reported with code 3 and its last logs, and leaves no service', async () => {
    const p = await backend.launch({
      sessionId: `s-${randomUUID()}`,
      kind: 'train',
      command: ['sh', '-c', 'echo "epoch 1 loss=0.5"; echo "bad things" >&2; exit 3'],
      env: { SWARMML_DATASET: 'digits@v1' },
      device: 'cpu',
      limits: { cpus: 0.5, memoryMb: 64, pids: 64 },
    });
    assert.equal(p.backend, 'swarm');
    assert.deepEqual(p.constraints, []);
    const exit = await exitOf(p.workerId);
    assert.equal(exit.exitCode, 3);
    assert.ok(
      exit.lastLogs?.some((l) => l.includes('epoch 1 loss=0.5')),
      String(exit.lastLogs),
    );
    assert.ok(exit.lastLogs?.some((l) => l.includes('bad things')));
    await waitFor(async () => (await scopeServices()).every((s) => s.ID !== p.workerId), {
      what: 'service removed',
    });
    assert.equal(exits.filter((e) => e.workerId === p.workerId).length, 1, 'reported once');
  });

  test('the service carries the session label, env, limits and no restarts', async () => {
    const sessionId = `s-${randomUUID()}`;
    const p = await backend.launch({
      sessionId,
      kind: 'train',
      command: ['sleep', '30'],
      env: { SWARMML_DATASET: 'digits@v1' },
      device: 'cpu',
      limits: { cpus: 0.5, memoryMb: 64, pids: 32 },
      timeBudgetS: 60,
    });
    const info = await docker.getService(p.workerId).inspect();
    const spec = info.Spec.TaskTemplate;
    assert.equal(info.Spec.Labels['swarmml.session'], sessionId);
    assert.ok(spec.ContainerSpec.Env.includes(`SWARMML_SESSION=${sessionId}`));
    assert.ok(spec.ContainerSpec.Env.includes('SWARMML_DEVICE=cpu'));
    assert.equal(spec.RestartPolicy.Condition, 'none');
    assert.equal(spec.Resources.Limits.NanoCPUs, 5e8);
    assert.equal(spec.Resources.Limits.MemoryBytes, 64 * 1024 * 1024);
    assert.equal(spec.Resources.Limits.Pids, 32);
    const listed = await backend.list();
    assert.ok(
      listed.some((w) => w.workerId === p.workerId && w.sessionId === sessionId && w.running),
    );
    await backend.stop(p.workerId, { graceMs: 500 });
    const exit = await exitOf(p.workerId);
    // sleep dies of SIGTERM (143) or, past the grace period, SIGKILL (137).
    assert.ok(
      exit.exitCode === 143 || exit.exitCode === 137 || exit.exitCode === null,
      String(exit.exitCode),
    );
    assert.ok((await backend.list()).every((w) => w.workerId !== p.workerId));
  });

  test('an image outside the allow-list is refused and nothing is launched', async () => {
    const before = (await scopeServices()).length;
    await assert.rejects(
      backend.launch({
        sessionId: `s-${randomUUID()}`,
        kind: 'train',
        image: 'alpine:latest',
        command: ['true'],
        env: {},
        device: 'cpu',
        limits: {},
      }),
      (err: unknown) => err instanceof AppError && err.code === 'NOT_ALLOWED' && err.status === 403,
    );
    assert.equal((await scopeServices()).length, before);
  });

  test('a restarted backend finds running workers and reports their exit', async () => {
    const sessionId = `s-${randomUUID()}`;
    const p = await backend.launch({
      sessionId,
      kind: 'train',
      command: ['sh', '-c', 'sleep 1; exit 5'],
      env: {},
      device: 'cpu',
      limits: {},
    });
    // A second instance stands for the event handler after a restart.
    const again = new SwarmBackend({ docker, scope, image: IMAGE, pollMs: 300 });
    try {
      const found = await again.list();
      assert.ok(found.some((w) => w.workerId === p.workerId && w.sessionId === sessionId));
      const seen: WorkerExit[] = [];
      again.onExit((e) => seen.push(e));
      const e = await waitFor(() => seen.find((x) => x.workerId === p.workerId), {
        timeoutMs: 20_000,
      });
      assert.equal(e.exitCode, 5);
    } finally {
      await again.close();
    }
  });

  test('session -> worker container running: p50 over 10 launches', async () => {
    const ms: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const p = await backend.launch({
        sessionId: `lat-${i}-${randomUUID().slice(0, 8)}`,
        kind: 'train',
        command: ['sleep', '30'],
        env: {},
        device: 'cpu',
        limits: { cpus: 0.1, memoryMb: 32 },
      });
      await waitFor(async () => (await backend.inspectWorker(p.workerId)).phase === 'running', {
        timeoutMs: 20_000,
        intervalMs: 10,
      });
      ms.push(performance.now() - t0);
      await docker.getService(p.workerId).remove();
    }
    const p50 = percentile(ms, 50);
    console.log(
      `# figure: session -> worker running p50 ${p50.toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms (n=10)`,
    );
    assert.ok(p50 < 3000, `p50 ${p50} ms exceeds the 3 s goal`);
  });
});
