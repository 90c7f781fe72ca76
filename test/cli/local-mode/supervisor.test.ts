/**
 * The supervisor with real processes: a node child that idles, and a real redis-server. A
 * killed process comes back with a new pid, a service waits for Redis before it restarts,
 * and stopping drops a pending restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { RedisServer, freePort } from '../../../shared/index.js';
import { Supervisor, type UnitState } from '../../../cli/local/supervisor.js';
import { RedisUnit, ServiceProcess } from '../../../cli/local/units.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/processes.js';

const idle = (name: string, out = new PassThrough()) =>
  new ServiceProcess(
    name,
    {
      command: process.execPath,
      args: ['-e', 'console.log("up"); setInterval(() => {}, 1000)'],
      env: { PATH: process.env.PATH },
    },
    undefined,
    out,
  );

const POLICY = { initialMs: 100, maxMs: 400, stableMs: 60_000 };

test('a killed process is restarted with backoff, each restart logged and counted', async () => {
  const logs: string[] = [];
  const states: UnitState[][] = [];
  const sup = new Supervisor({
    log: (m) => logs.push(m),
    policy: POLICY,
    onChange: (s) => states.push(s),
  });
  const out = new PassThrough();
  let printed = '';
  out.on('data', (d: Buffer) => (printed += d.toString()));
  sup.add(idle('svc', out));
  await sup.start('svc');
  sup.supervise();
  try {
    const pids: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const pid = sup.states()[0]!.pid!;
      pids.push(pid);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => sup.states()[0]!.state === 'up' && sup.states()[0]!.pid !== pid, {
        what: `restart ${i}`,
      });
    }
    assert.equal(new Set(pids).size, 3);
    assert.equal(sup.states()[0]!.restarts, 3);
    // Crashes in a row back off: 100, 200, 400 ms (the cap here).
    assert.deepEqual(
      logs
        .filter((l) => l.includes('exited'))
        .map((l) => /restart (\d+) in (\d+) ms/.exec(l)?.slice(1)),
      [
        ['1', '100'],
        ['2', '200'],
        ['3', '400'],
      ],
    );
    assert.match(logs[0]!, /^svc exited \(signal SIGKILL\) after \d+ ms; restart 1 in 100 ms$/);
    assert.ok(states.some((s) => s[0]!.state === 'restarting'));
    assert.deepEqual(sup.states()[0]!.lastExit?.signal, 'SIGKILL');
    // A run killed at once may print nothing; the last one prints, with its tag.
    await waitFor(() => /^\[svc\]\s+up$/m.test(printed), { what: 'output prefixed' });
    assert.ok(
      printed
        .trim()
        .split('\n')
        .every((l) => l.startsWith('[svc] ')),
      printed,
    );
  } finally {
    await sup.stop([], 2_000);
  }
  assert.equal(sup.states()[0]!.state, 'stopped');
});

test('a service restarts only once Redis is up; Redis comes back on its port with its data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-sup-'));
  const server = new RedisServer({ dir, port: await freePort(), detached: true });
  const logs: string[] = [];
  const sup = new Supervisor({ log: (m) => logs.push(m), policy: POLICY });
  sup.add(new RedisUnit(server));
  sup.add(idle('svc'), { needs: 'redis' });
  await sup.start('redis');
  await sup.start('svc');
  sup.supervise();
  try {
    const { Redis } = await import('ioredis');
    const c = new Redis(server.url, { maxRetriesPerRequest: null });
    c.on('error', () => {});
    await c.set('k', 'kept');
    await c.quit();
    // Redis dies, and its port is taken meanwhile, so its restarts fail until it is freed;
    // the service that dies then waits for Redis instead of starting without it.
    const svcPid = sup.states()[1]!.pid!;
    process.kill(server.pid!, 'SIGKILL');
    await waitFor(() => sup.states()[0]!.state === 'restarting', { what: 'redis seen down' });
    // It accepts and never answers: a probe must not wait on it for ever.
    const squatter = createServer((socket) => sockets.push(socket));
    const sockets: Socket[] = [];
    await new Promise<void>((resolve) => squatter.listen(server.opts.port, '127.0.0.1', resolve));
    process.kill(svcPid, 'SIGKILL');
    await waitFor(() => logs.some((l) => l === 'svc waits for redis to be up before restarting'), {
      what: 'the service waiting for Redis',
    });
    await waitFor(() => logs.some((l) => /^redis exited \(restart failed/.test(l)), {
      what: 'a failed restart of Redis',
    });
    assert.equal(sup.states()[1]!.state, 'restarting');
    await new Promise<void>((resolve) => {
      squatter.close(() => resolve());
      for (const so of sockets) so.destroy();
    });
    await waitFor(() => sup.states().every((s) => s.state === 'up'), {
      timeoutMs: 15_000,
      what: 'both back',
    });
    const redisBack = logs.findIndex((l) => l.startsWith('redis restarted'));
    const svcBack = logs.findIndex((l) => l.startsWith('svc restarted'));
    assert.ok(redisBack >= 0 && svcBack > redisBack, logs.join('\n'));
    const c2 = new Redis(server.url);
    assert.equal(await c2.get('k'), 'kept', 'the AOF was replayed');
    await c2.quit();
  } finally {
    await sup.stop([['svc'], ['redis']], 2_000);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(server.running, false);
});

test('stopping drops a pending restart and stops in stages', async () => {
  const logs: string[] = [];
  const sup = new Supervisor({
    log: (m) => logs.push(m),
    policy: { initialMs: 500, maxMs: 500, stableMs: 60_000 },
  });
  const a = idle('a');
  const b = idle('b');
  sup.add(a);
  sup.add(b);
  await sup.start('a');
  await sup.start('b');
  sup.supervise();
  const pidA = a.pid!;
  const pidB = b.pid!;
  process.kill(pidA, 'SIGKILL');
  await waitFor(() => sup.states()[0]!.state === 'restarting', { what: 'a restarting' });
  await sup.stop([['b'], ['a']], 2_000);
  assert.equal(alive(pidB), false);
  // Nothing to wait on for a restart that must not happen: wait past its time instead.
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(a.pid, undefined, 'a was not restarted');
  assert.ok(!logs.some((l) => l.startsWith('a restarted')), logs.join('\n'));
  assert.ok(sup.states().every((s) => s.state === 'stopped'));
});
