/**
 * Local mode keeps one trainer process loaded and idle, and hands it the next training
 * session. A launch that comes while that spare is still loading waits for it rather than
 * starting a second process from nothing on the same cores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ProcessBackend } from '../../../../services/event-handler/process-backend.js';
import type { LaunchSpec, WorkerExit } from '../../../../services/event-handler/backend.js';
import { waitFor } from '../../../helpers/wait.js';

/** How the backend says it started each session's worker ('warm spare' or a fresh process). */
function startLog() {
  const started = new Map<string, string>();
  const log = pino(
    { level: 'info' },
    {
      write(line: string) {
        const m = JSON.parse(line) as { sessionId?: string; msg: string };
        if (m.sessionId && m.msg.startsWith('worker started')) started.set(m.sessionId, m.msg);
      },
    },
  );
  return { log, started };
}

const spec = (sessionId: string, extra: Partial<LaunchSpec> = {}): LaunchSpec => ({
  sessionId,
  kind: 'train',
  command: [],
  // No gateway or Redis to reach: the trainer fails its config and exits, which is enough.
  env: { SWARMML_SESSION: sessionId },
  device: 'cpu',
  limits: {},
  ...extra,
});

test('a training launch takes the warm spare, waiting for it while it loads; others start their own', async () => {
  const { log, started } = startLog();
  const backend = new ProcessBackend(log, {
    warm: true,
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' },
  });
  const exits: WorkerExit[] = [];
  backend.onExit((e) => exits.push(e));
  try {
    // Launched the moment the spare was spawned: it cannot have loaded yet.
    const first = await backend.launch(spec('s1'));
    assert.equal(started.get('s1'), 'worker started (warm spare)');

    // A memory limit needs node flags at start, so that session starts a process of its own.
    await backend.launch(spec('s2', { limits: { memoryMb: 256 } }));
    assert.equal(started.get('s2'), 'worker started');

    // The next spare was started when s1 took the first one, and serves the next session.
    const third = await backend.launch(spec('s3'));
    assert.equal(started.get('s3'), 'worker started (warm spare)');
    assert.notEqual(third.workerId, first.workerId);

    await waitFor(() => exits.length === 3, { timeoutMs: 30_000, what: 'three worker exits' });
    assert.deepEqual(exits.map((e) => e.sessionId).sort(), ['s1', 's2', 's3']);
    for (const e of exits) assert.notEqual(e.exitCode, 0, `${e.sessionId} had nothing to train`);
  } finally {
    await backend.close();
  }
});
