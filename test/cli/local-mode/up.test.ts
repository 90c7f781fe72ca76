import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliCommand, freePort } from '../../../shared/index.js';
import { freePortBlock } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { alive, descendants } from '../../helpers/processes.js';

test('local mode starts redis and the services, and SIGTERM stops everything cleanly', async () => {
  const home = mkdtempSync(join(tmpdir(), 'swarmml-home-'));
  const port = await freePortBlock(7); // the gateway, the three services after it, the gateway's gRPC port, the listener, serving's direct port
  const { command, args } = cliCommand();
  const child = spawn(command, [...args, 'up', '--no-demo'], {
    env: {
      ...process.env,
      SWARMML_HOME: home,
      SWARMML_PORT: String(port),
      SWARMML_REDIS_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => out.includes('running; press Ctrl-C'), {
      timeoutMs: 60_000,
      what: `local mode up:\n${out}`,
    });
    const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
    assert.ok(token.length > 20);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const api = await fetch(`http://127.0.0.1:${port}/api/v1/tokens`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(api.status, 200);
    // serving's direct port (SWARMML_PORT+6): open health, inference behind the same tokens
    const direct = `http://127.0.0.1:${port + 6}`;
    await waitFor(async () => (await fetch(`${direct}/v2/health/live`).catch(() => null))?.ok, {
      what: "serving's direct port",
    });
    const anonymous = await fetch(`${direct}/v2/models/nope`);
    assert.equal(anonymous.status, 401);
    const known = await fetch(`${direct}/v2/models/nope`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(known.status, 404, 'the admin token passes; the model is unknown');
    const kids = descendants(child.pid!);
    assert.ok(kids.length >= 2, 'redis-server and the gateway run as children');
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, out);
    await waitFor(() => kids.every((p) => !alive(p)), { timeoutMs: 10_000, what: 'no orphans' });
    assert.ok(existsSync(join(home, 'redis')), 'redis data dir kept');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});
