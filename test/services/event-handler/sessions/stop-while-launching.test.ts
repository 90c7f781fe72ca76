/**
 * A session stopped before its launch returns (the warm trainer it waits for is still
 * loading) is over at once; the worker that the launch then hands it to must be ended, not
 * left training a stopped session.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startLongTraining } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let d: DigitsPlatform;

before(async () => {
  // A fresh handler: its warm trainer has only just started loading.
  d = await startDigitsPlatform();
});
after(async () => {
  await d?.close();
});

test('a session stopped while it is being launched ends its worker and registers nothing', async () => {
  const id = await startLongTraining(d.p, 'stopped-early');
  // Stopped once the handler has taken it from the queue (a stop before that is a different
  // path: the session ends queued and nothing is ever launched).
  await waitFor(
    async () =>
      ['placing', 'starting'].includes(
        (await api(d.p, 'GET', `/api/v1/sessions/${id}`)).body.state,
      ),
    { timeoutMs: 10_000, intervalMs: 5, what: 'the launch under way' },
  );
  const stop = await api(d.p, 'POST', `/api/v1/sessions/${id}/stop`);
  assert.equal(stop.status, 200);
  // Whether the stop landed before or after the launch returned, a worker was placed and
  // must end.
  const placed = await waitFor(
    async () => {
      const b = (await api(d.p, 'GET', `/api/v1/sessions/${id}`)).body;
      return b.state === 'stopped' && b.workerId ? b : undefined;
    },
    { timeoutMs: 20_000, what: 'stopped with its worker recorded' },
  );
  const pid = Number(placed.workerId);
  await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: `worker ${pid} to end` });
  assert.equal((await d.registry.listGenerations('stopped-early').catch(() => [])).length, 0);
});
