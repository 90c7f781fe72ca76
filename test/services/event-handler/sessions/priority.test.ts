/**
 * BullMQ priorities decide which queued session takes a freed slot: an urgent session
 * (priority 1) asked for after others (priority 50) still starts before them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startLongTraining } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

let d: DigitsPlatform;

before(async () => {
  // One slot: a second session waits in the queue until the first one ends.
  d = await startDigitsPlatform({ handlerEnv: { MAX_SESSIONS: '1' }, listener: false });
});
after(async () => {
  await d?.close();
});

const stateOf = async (id: string): Promise<string> =>
  (await api(d.p, 'GET', `/api/v1/sessions/${id}`)).body.state as string;

test('a priority-1 session overtakes priority-50 ones queued before it', async () => {
  const busy = await startLongTraining(d.p, 'busy');
  await waitFor(async () => (await stateOf(busy)) === 'running', {
    timeoutMs: 30_000,
    what: 'the only slot taken',
  });
  const routine = [
    await startLongTraining(d.p, 'routine-a', { priority: 50 }),
    await startLongTraining(d.p, 'routine-b', { priority: 50 }),
  ];
  const urgent = await startLongTraining(d.p, 'urgent', { priority: 1 });
  for (const id of [...routine, urgent]) assert.equal(await stateOf(id), 'queued', id);

  assert.equal((await api(d.p, 'POST', `/api/v1/sessions/${busy}/stop`)).status, 200);
  // The first session to leave the queue once the slot frees.
  const next = await waitFor(
    async () => {
      for (const id of [...routine, urgent]) if ((await stateOf(id)) !== 'queued') return id;
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 10, what: 'a queued session to start' },
  );
  assert.equal(next, urgent, 'the priority-1 session starts first');
  assert.equal(await stateOf(busy), 'stopped');
  for (const id of routine) assert.equal(await stateOf(id), 'queued', `${id} still waits`);
});
