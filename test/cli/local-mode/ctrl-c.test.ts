/**
 * Ctrl-C in a terminal signals the whole foreground process group. Local mode's processes run
 * in groups of their own, so only `swarmml up` gets it and stops them in order (the gateway
 * first, Redis last): no service loses Redis or the event handler while it still runs, and no
 * error line is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fixture } from '../../helpers/datasets.js';
import { waitFor } from '../../helpers/wait.js';
import { alive, descendants } from '../../helpers/processes.js';
import { startLocalModeUnderTest } from './local-mode-harness.js';

/** Lines that say something went wrong: a refused connection, or a pino error or fatal. */
const ERROR_LINE = /ECONNREFUSED|"level":(50|60)|\berror\b/i;

test('SIGINT to the whole process group (Ctrl-C) stops everything in order, without an error line', async () => {
  const lm = await startLocalModeUnderTest({}, { ownGroup: true });
  try {
    // A training in flight, so that the event handler has a worker to stop too.
    const up = await lm.api('/api/v1/datasets/digits?format=csv&header=false', {
      method: 'POST',
      body: readFileSync(fixture('digits.csv.gz')),
    });
    assert.equal(up.status, 201, await up.text());
    const created = await lm.api('/api/v1/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'interrupted',
        dataset: 'digits',
        params: { hidden: [256, 256], epochs: 1000, batchSize: 8 },
      }),
    });
    const { id } = (await created.json()) as { id: string };
    assert.equal(created.status, 201);
    await waitFor(
      async () =>
        ((await (await lm.api(`/api/v1/sessions/${id}`)).json()) as { state: string }).state ===
        'running',
      { timeoutMs: 60_000, what: 'the training running' },
    );
    const pids = descendants(lm.child.pid!);
    assert.ok(pids.length >= 7, 'redis-server, five services and a worker run');
    const before = lm.output().length;
    const exited = once(lm.child, 'exit');
    lm.signalGroup('SIGINT');
    const [code] = (await exited) as [number | null];
    const after = lm.output().slice(before);
    assert.equal(code, 0, after);
    assert.match(after, /^\[swarmml\]\s+SIGINT: stopping services and redis-server$/m);
    const errors = after.split('\n').filter((l) => ERROR_LINE.test(l));
    assert.deepEqual(errors, [], `error lines after Ctrl-C:\n${after}`);
    await waitFor(() => pids.every((p) => !alive(p)), {
      timeoutMs: 15_000,
      what: 'every process gone',
    });
  } finally {
    await lm.stop();
  }
});
