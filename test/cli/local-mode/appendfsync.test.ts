/**
 * REDIS_APPENDFSYNC (docs/operations.md): local mode's Redis runs with the fsync policy it
 * names, and a value that is not a policy stops `swarmml up` before anything starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, freePort } from '../../../shared/index.js';
import { Redis } from 'ioredis';
import { localRedisAuth } from '../../../cli/local/secrets.js';
import { localSettings } from '../../../cli/local/settings.js';
import { startLocalModeUnderTest } from './local-mode-harness.js';

test('a REDIS_APPENDFSYNC that is no policy: up refuses, naming the variable and the choices', () => {
  assert.throws(
    () => localSettings({ REDIS_APPENDFSYNC: 'sometimes' }),
    /REDIS_APPENDFSYNC must be one of always, everysec, no, got "sometimes"/,
  );
  assert.equal(localSettings({}).redisAppendfsync, 'everysec');
  assert.equal(localSettings({ REDIS_APPENDFSYNC: 'no' }).redisAppendfsync, 'no');

  const home = mkdtempSync(join(tmpdir(), 'swarmml-home-'));
  try {
    const { command, args } = cliCommand();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWARMML_HOME: home,
      REDIS_APPENDFSYNC: 'ALWAYS',
    };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(command, [...args, 'up', '--no-demo'], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /REDIS_APPENDFSYNC must be one of always, everysec, no/);
    assert.ok(!existsSync(join(home, 'redis')), 'no Redis started');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('REDIS_APPENDFSYNC=always: local mode runs Redis with appendfsync always', async () => {
  const redisPort = await freePort();
  const local = await startLocalModeUnderTest({
    REDIS_APPENDFSYNC: 'always',
    SWARMML_REDIS_PORT: String(redisPort),
  });
  try {
    // As the operator would look: logged in as `admin` (the services may not run CONFIG).
    const redis = new Redis(
      localRedisAuth(local.home).urlFor(`redis://127.0.0.1:${redisPort}`, 'admin'),
    );
    try {
      assert.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'always']);
    } finally {
      redis.disconnect();
    }
  } finally {
    await local.stop();
  }
});
