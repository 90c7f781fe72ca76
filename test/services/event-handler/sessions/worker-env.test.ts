/**
 * Store credentials never reach code the platform did not write: an external worker (a command
 * or image its requester chose) gets no Redis URL, only its session's token; the built-in
 * workers get their own Redis users' URLs, never the event handler's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../services/event-handler/config.js';
import { sessionEnv } from '../../../../services/event-handler/session-env.js';
import { CreateSessionRequest } from '../../../../shared/index.js';
import { api } from '../../../helpers/platform.js';
import { startDigitsPlatform, type DigitsPlatform } from '../../../helpers/digits-platform.js';
import { waitFor } from '../../../helpers/wait.js';

const base = {
  INTERNAL_TOKEN: 'x'.repeat(32),
  REDIS_URL: 'redis://event-handler:handler-pw@127.0.0.1:6379',
  TRAINER_REDIS_URL: 'redis://trainer:trainer-pw@127.0.0.1:6379',
  BATCH_INFER_REDIS_URL: 'redis://batch-infer:bi-pw@127.0.0.1:6379',
};
const req = (extra: Record<string, unknown> = {}) =>
  CreateSessionRequest.parse({ model: 'm', dataset: 'd@1', ...extra });

describe('the environment a worker gets', () => {
  test('an external command gets no Redis URL and no prefix; built-in workers get their own users', () => {
    const config = loadConfig(base);
    const ext = sessionEnv(
      's1',
      req({ container: { command: ['/usr/bin/python3', 't.py'] } }),
      config,
      'ws://h',
    );
    assert.equal(ext.REDIS_URL, undefined);
    assert.equal(ext.SWARMML_PREFIX, undefined);
    assert.ok(!Object.values(ext).some((v) => v.includes('handler-pw')), 'no handler password');
    assert.match(ext.SWARMML_TOKEN ?? '', /^smw_s1\./);

    assert.equal(sessionEnv('s2', req(), config, 'ws://h').REDIS_URL, base.TRAINER_REDIS_URL);
    const bi = sessionEnv('s3', req({ kind: 'batch-infer' }), config, 'ws://h');
    assert.equal(bi.REDIS_URL, base.BATCH_INFER_REDIS_URL);
  });

  test('in swarm mode another image is external too, even without a command', () => {
    const config = loadConfig({ ...base, BACKEND: 'swarm', TRAINER_IMAGE: 'swarmml/app:abc' });
    const other = sessionEnv(
      's1',
      req({ container: { image: 'evil/trainer:1' } }),
      config,
      'ws://h',
    );
    assert.equal(other.REDIS_URL, undefined);
    const own = sessionEnv(
      's2',
      req({ container: { image: 'swarmml/app:abc' } }),
      config,
      'ws://h',
    );
    assert.equal(own.REDIS_URL, base.TRAINER_REDIS_URL);
  });

  test("a handler with Redis credentials refuses to start without the workers' own URLs", () => {
    assert.throws(
      () => loadConfig({ INTERNAL_TOKEN: base.INTERNAL_TOKEN, REDIS_URL: base.REDIS_URL }),
      /TRAINER_REDIS_URL is required/,
    );
  });

  test("a worker's password comes from its file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmml-pw-'));
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, 's3cret/with:chars\n');
      const config = loadConfig({
        ...base,
        TRAINER_REDIS_URL: 'redis://trainer@redis:6379',
        TRAINER_REDIS_PASSWORD_FILE: file,
      });
      const url = new URL(config.workerRedis.trainer);
      assert.equal(url.username, 'trainer');
      assert.equal(decodeURIComponent(url.password), readFileSync(file, 'utf8').trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an external worker process', () => {
  let d: DigitsPlatform;
  before(async () => {
    const env = { ALLOWED_COMMANDS: process.execPath };
    d = await startDigitsPlatform({ handlerEnv: env, gatewayEnv: env });
  });
  after(async () => {
    await d?.close();
  });

  test('runs without REDIS_URL (exit 3 if it had one) and with its session token', async () => {
    const check =
      'process.exit(process.env.REDIS_URL || process.env.SWARMML_PREFIX ? 3 : process.env.SWARMML_TOKEN ? 0 : 4)';
    const created = await api(d.p, 'POST', '/api/v1/sessions', {
      model: 'ext-env',
      dataset: 'digits',
      trainer: 'external',
      container: { command: [process.execPath, '-e', check] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitFor(
      async () => {
        const s = (await api(d.p, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
        return ['succeeded', 'failed', 'stopped'].includes(s.state) ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'the external worker to exit' },
    );
    assert.equal(done.exitCode, 0, JSON.stringify(done));
  });
});
