/**
 * `swarmml up` itself killed with SIGKILL (no chance to stop anything): its services end by
 * themselves (their IPC channel to it closes), and the redis-server it leaves, which cannot be
 * tied to it that way, is stopped by the next `swarmml up` on that home, which then starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.js';
import { alive, descendants } from '../../helpers/processes.js';
import { startLocalModeUnderTest } from './local-mode-harness.js';

test('killed with SIGKILL: the services end with it, and the next swarmml up stops the Redis it left', async () => {
  const first = await startLocalModeUnderTest({}, { keepHome: true });
  const redis = first.state().processes.find((p) => p.name === 'redis')!;
  const others = descendants(first.child.pid!).filter((p) => p !== redis.pid);
  assert.ok(others.length >= 5, 'the services (and the gateway spare) run');
  first.child.kill('SIGKILL');
  await waitFor(() => others.every((p) => !alive(p)), {
    timeoutMs: 20_000,
    what: 'every service to end with its supervisor',
  });
  assert.ok(alive(redis.pid!), 'redis-server is left running');

  const second = await startLocalModeUnderTest({
    SWARMML_HOME: first.home,
    SWARMML_PORT: new URL(first.url).port,
    SWARMML_REDIS_PORT: String(redis.port),
  });
  try {
    assert.match(
      second.output(),
      new RegExp(`stopping the redis-server \\(pid ${redis.pid}\\) a previous swarmml up left`),
    );
    assert.equal(alive(redis.pid!), false);
    assert.equal(second.token, first.token, 'the same installation');
    assert.equal((await fetch(`${second.url}/readyz`)).status, 200);
  } finally {
    await second.stop();
    await first.stop();
  }
});
