import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../shared/net.js';
import { waitFor } from '../helpers/wait.js';
import { dockerCli, swarmEnv } from './swarm-env.js';

// The whole stack through scripts/swarm-up.sh, on a stack name and port of its own.
// Gated until every service reads REDIS_PASSWORD_FILE and serves /healthz (see docs/swarm.md).
const SERVICES = ['gateway', 'event-handler', 'event-listener', 'data-intake', 'serving'];
const missing = SERVICES.filter((s) => !existsSync(`dist/services/${s}/main.js`));
const env = swarmEnv();
const skip: string | false =
  env.skip ||
  (process.env.SWARMML_STACK_TESTS !== '1'
    ? 'stack tests run with SWARMML_STACK_TESTS=1 (needs every service built into dist/)'
    : missing.length > 0
      ? `services not built: ${missing.join(', ')}`
      : false);
if (skip) console.log(`# stack tests skipped: ${skip}`);

describe('the swarmml stack on a real swarm', { skip }, () => {
  const stack = `t${randomUUID().slice(0, 6)}`;
  const home = mkdtempSync(join(tmpdir(), 'swarmml-stack-'));
  let port = 0;
  let upOutput = '';
  const envFor = () => ({
    ...process.env,
    SWARMML_STACK: stack,
    SWARMML_PORT: String(port),
    SWARMML_HOME: home,
  });

  before(async () => {
    port = await freePort();
    const up = spawnSync('scripts/swarm-up.sh', { encoding: 'utf8', env: envFor() });
    upOutput = `${up.stdout}${up.stderr}`;
    console.log(upOutput.replace(/^admin token: .*$/m, 'admin token: [redacted]'));
    assert.equal(up.status, 0, upOutput);
  });

  after(() => {
    spawnSync('scripts/swarm-down.sh', ['--volumes'], { encoding: 'utf8', env: envFor() });
    rmSync(home, { recursive: true, force: true });
  });

  test('swarm-up brings every service to healthy and prints URL, token and times', async () => {
    assert.match(upOutput, new RegExp(`http://127.0.0.1:${port}/`));
    assert.match(upOutput, /admin token: [0-9a-f]{64}/);
    assert.match(upOutput, /times \(s\): .*seed [\d.]+, build [\d.]+, deploy [\d.]+/);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
  });

  test('Redis killed with SIGKILL restarts from its volume with every acknowledged write', async () => {
    const service = `${stack}_redis`;
    const container = () =>
      dockerCli(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]);
    const first = container();
    const auth = 'redis-cli --no-auth-warning -a "$(cat /run/secrets/redis_password)"';
    // Each printed reply is a write Redis acknowledged. The kill comes from outside: inside
    // its pid namespace, PID 1 ignores SIGKILL.
    const writer = spawn('/usr/bin/docker', [
      'exec',
      first,
      'sh',
      '-c',
      `${auth} -r 500000 INCR acked`,
    ]);
    let out = '';
    writer.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const count = () => out.split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
    await waitFor(() => count() > 1000, { timeoutMs: 20_000, what: 'writes to be acknowledged' });
    dockerCli(['kill', '-s', 'KILL', first]);
    await once(writer, 'close');
    const acked = count();
    const second = await waitFor(
      () => {
        const c = container();
        return c && c !== first ? c : undefined;
      },
      {
        timeoutMs: 60_000,
        what: 'a new Redis task',
      },
    );
    const value = await waitFor(
      () => {
        const r = spawnSync('/usr/bin/docker', ['exec', second, 'sh', '-c', `${auth} GET acked`], {
          encoding: 'utf8',
        });
        return /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : undefined;
      },
      { timeoutMs: 30_000, what: 'Redis to answer after restart' },
    );
    assert.ok(value >= acked, `${value} < ${acked} acknowledged`);
  });

  // For the lead, once the services are in: each needs a model served through the gateway.
  void test.todo(
    'end to end: push a dataset, train as a Swarm service, accept, predict on the port',
  );
  void test.todo('a serving replica killed under load: the gateway routes around it (0 failures)');
  void test.todo('serving scaled to 4: the gateway spreads requests over all 4 (tasks.serving)');
});
