import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort } from '../../../../shared/runtime/net.js';
import { waitFor } from '../../../helpers/wait.js';
import { fixture } from '../../../helpers/datasets.js';
import { dockerCli, swarmEnv } from './swarm-env.js';
import { StackClient, steadyLoad } from './stack-client.js';

// The whole stack from nothing through scripts/swarm-up.sh, on a stack name, port and volume
// of its own, then the main path and the faults, all through the gateway's published port.
const DIGITS = fixture('digits.csv.gz');
const env = swarmEnv();
const skip = env.skip || process.env.SWARMML_SKIP_STACK || false;
if (skip) console.log(`# stack tests skipped: ${skip}`);

describe('the swarmml stack on a real swarm', { skip }, () => {
  const stack = `t${randomUUID().slice(0, 6)}`;
  const home = mkdtempSync(join(tmpdir(), 'swarmml-stack-'));
  const model = 'digits-mlp';
  const digits = gunzipSync(readFileSync(DIGITS)).toString('utf8').trim().split('\n');
  const row = (i: number) => digits[i]!.split(',').slice(0, 64).map(Number);
  let port = 0;
  let grpcPort = 0;
  let upOutput = '';
  let api: StackClient;
  const envFor = () => ({
    ...process.env,
    SWARMML_STACK: stack,
    SWARMML_PORT: String(port),
    SWARMML_GRPC_PORT: String(grpcPort),
    SWARMML_HOME: home,
  });
  const containersOf = (service: string) =>
    dockerCli(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack}_${service}`])
      .split('\n')
      .filter(Boolean);
  /** A service's tasks (state, error) and last log lines, to tell what happened on a failure. */
  const taskHistory = (service: string) =>
    [
      `tasks of ${service}:`,
      dockerCli(
        [
          'service',
          'ps',
          '--no-trunc',
          '--format',
          '{{.Name}} {{.CurrentState}} {{.Error}}',
          `${stack}_${service}`,
        ],
        { allowFail: true },
      ),
      `last log lines of ${service}:`,
      dockerCli(['service', 'logs', '--raw', '--tail', '15', `${stack}_${service}`], {
        allowFail: true,
      }),
    ].join('\n');
  const listed = (...filters: string[]) =>
    dockerCli(['service', 'ls', '-q', ...filters.flatMap((f) => ['--filter', `label=${f}`])])
      .split('\n')
      .filter(Boolean);
  /** Session workers, the warm spares handed a session included. */
  const workerServices = () => listed(`swarmml.scope=${stack}`, 'swarmml.session');
  /** Warm spares waiting for a session: started ahead, their modules loaded. */
  const waitingSpares = () => {
    const handed = new Set(workerServices());
    return listed(`swarmml.scope=${stack}`, 'swarmml.spare').filter(
      (id) =>
        !handed.has(id) &&
        dockerCli(['service', 'logs', '--raw', id], { allowFail: true }).includes(
          'warm spare waiting for a session',
        ),
    );
  };

  before(
    async () => {
      port = await freePort();
      grpcPort = await freePort();
      const t0 = Date.now();
      const up = spawnSync('scripts/swarm-up.sh', { encoding: 'utf8', env: envFor() });
      upOutput = `${up.stdout}${up.stderr}`;
      console.log(upOutput.replace(/^admin token: .*$/m, 'admin token: [redacted]'));
      console.log(`# swarm-up: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.equal(up.status, 0, upOutput);
      const token = readFileSync(join(home, 'secrets/admin_token'), 'utf8').trim();
      api = new StackClient(`http://127.0.0.1:${port}`, token);
    },
    { timeout: 420_000 },
  );

  after(
    () => {
      // A failed run can be looked at with SWARMML_KEEP_STACK=1; remove it with swarm-down.sh.
      if (process.env.SWARMML_KEEP_STACK === '1') {
        console.log(
          `# kept: SWARMML_STACK=${stack} SWARMML_HOME=${home} scripts/swarm-down.sh --volumes`,
        );
        return;
      }
      spawnSync('scripts/swarm-down.sh', ['--volumes'], { encoding: 'utf8', env: envFor() });
      rmSync(home, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  test('swarm-up brings every service to healthy and prints URL, token and times', async () => {
    assert.match(upOutput, new RegExp(`http://127.0.0.1:${port}/`));
    assert.match(upOutput, /admin token: [0-9a-f]{64}/);
    assert.match(upOutput, /times \(s\): .*seed [\d.]+, build [\d.]+, push [\d.]+, deploy [\d.]+/);
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    // Docker ran each service's own /healthz check (docker/healthcheck.mjs) to get here.
    for (const s of ['gateway', 'event-handler', 'event-listener', 'data-intake', 'serving']) {
      for (const c of containersOf(s)) {
        const health = dockerCli(['inspect', '-f', '{{.State.Health.Status}}', c]);
        assert.equal(health, 'healthy', `${s} container ${c}`);
      }
    }
    type Cluster = {
      mode: string;
      processes: { name: string; up: boolean; latencyMs?: number }[];
      swarm: {
        nodes: { hostname: string; role: string; state: string; availability: string }[];
        services: { name: string; image: string; replicas: number; running: number }[];
      };
    };
    // The gateway probes each process when asked; on a loaded node a probe right after the
    // stack comes up may run past its deadline, so the report is asked again until all are up.
    let last: Cluster['processes'] = [];
    const cluster = await waitFor(
      async () => {
        const c = await api.json<Cluster>('GET', '/api/v1/cluster');
        last = c.processes;
        return c.processes.every((p) => p.up) ? c : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'every process up' },
    ).catch((err: Error) => assert.fail(`${err.message}; last: ${JSON.stringify(last)}`));
    console.log(
      `# cluster probes (ms): ${cluster.processes.map((p) => `${p.name} ${p.latencyMs}`).join(', ')}`,
    );
    assert.equal(cluster.mode, 'swarm');
    assert.ok(cluster.swarm.nodes.some((n) => n.role === 'manager' && n.state === 'ready'));
    const serving = cluster.swarm.services.find((s) => s.name === `${stack}_serving`);
    assert.deepEqual(
      { replicas: serving?.replicas, running: serving?.running },
      {
        replicas: 2,
        running: 2,
      },
    );
    // The stack's six, and the warm spare its event handler keeps on this one node; no other
    // stack's services or spares.
    const names = cluster.swarm.services.map((s) => s.name);
    assert.equal(names.filter((n) => n.startsWith(`${stack}_`)).length, 6, names.join(' '));
    const others = names.filter((n) => !n.startsWith(`${stack}_`));
    assert.ok(others.length <= 1, names.join(' '));
    assert.ok(
      others.every((n) => n.startsWith('swarmml-worker-spare-')),
      names.join(' '),
    );
  });

  test("Redis in the stack: no login is refused (NOAUTH), data-intake's user cannot write tokens (NOPERM)", () => {
    const [redis] = containersOf('redis');
    assert.ok(redis);
    const cli = (...args: string[]) =>
      spawnSync('/usr/bin/docker', ['exec', redis, 'redis-cli', '--no-auth-warning', ...args], {
        encoding: 'utf8',
      });
    const forge = ['HSET', 'swarmml:tokens', 'forged', '{"role":"admin"}'];
    const anon = cli(...forge);
    assert.match(anon.stdout + anon.stderr, /NOAUTH/);
    const pw = readFileSync(join(home, 'secrets/redis_pw_data-intake'), 'utf8').trim();
    const intake = cli('--user', 'data-intake', '--pass', pw, ...forge);
    assert.match(intake.stdout + intake.stderr, /NOPERM/);
    const gw = readFileSync(join(home, 'secrets/redis_pw_gateway'), 'utf8').trim();
    const read = cli('--user', 'gateway', '--pass', gw, 'HEXISTS', 'swarmml:tokens', 'forged');
    assert.equal(read.stdout.trim(), '0', 'nothing was forged');
  });

  test('end to end: push, train as a Swarm service, accept, predict on the port', async () => {
    const t0 = Date.now();
    const ds = await api.json<{ count: number; version: number }>(
      'POST',
      '/api/v1/datasets/digits?format=csv&header=false',
      readFileSync(DIGITS),
    );
    assert.equal(ds.count, 1797);
    // The event handler keeps a spare trainer waiting on the node: the session goes to it.
    const spares = await waitFor(() => waitingSpares()[0], {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'a warm spare waiting on the node',
    });
    const created = await api.json<{ id: string }>('POST', '/api/v1/sessions', {
      model,
      dataset: 'digits',
      params: { hidden: [32], epochs: 3 },
    });
    const session = await waitFor(
      async () => {
        const s = await api.json<{
          state: string;
          placement?: { backend: string; workerId: string };
        }>('GET', `/api/v1/sessions/${created.id}`);
        if (s.state === 'failed' || s.state === 'stopped') assert.fail(JSON.stringify(s));
        return s.state === 'succeeded' ? s : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the session to succeed' },
    );
    assert.equal(session.placement?.backend, 'swarm');
    // `docker service ls -q` gives ids cut to 12 characters.
    assert.ok(
      session.placement?.workerId.startsWith(spares),
      `the session ran in the warm spare ${spares}: ${JSON.stringify(session.placement)}`,
    );
    const trained = Date.now();
    const next = await waitFor(() => waitingSpares().find((id) => id !== spares), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'a new spare in place of the one handed the session',
    });
    assert.ok(next);
    // The event listener accepts the first candidate: it becomes production.
    await waitFor(
      async () =>
        (await api.json<{ production: number | null }>('GET', `/api/v1/models/${model}`))
          .production === 1,
      { timeoutMs: 30_000, intervalMs: 250, what: 'generation 1 in production' },
    );
    // Each replica loads the promoted generation on its own: wait until both answer.
    const answered = new Set<string>();
    const answer = await waitFor(
      async () => {
        const r = await api.infer(model, row(0));
        if (r.status === 200 && r.servedBy) answered.add(r.servedBy);
        return r.status === 200 && answered.size >= 2 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'predictions from both replicas' },
    );
    const out = (answer.body as { outputs: { shape: number[]; data: number[] }[] }).outputs[0]!;
    assert.deepEqual(out.shape, [1, 10]);
    assert.ok(answer.servedBy, 'serving names the replica that answered');
    // The model learned something: most of the first rows are classified right.
    let right = 0;
    for (let i = 0; i < 50; i++) {
      const r = await api.infer(model, row(i));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const logits = (r.body as { outputs: { data: number[] }[] }).outputs[0]!.data;
      if (logits.indexOf(Math.max(...logits)) === Number(digits[i]!.split(',')[64])) right++;
    }
    assert.ok(right >= 25, `${right}/50 right`);
    console.log(
      `# e2e: push+train+succeed ${((trained - t0) / 1000).toFixed(1)} s, to first prediction ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test('a serving replica killed under load: the gateway routes around it', async () => {
    const [victim] = containersOf('serving');
    assert.ok(victim);
    const load = steadyLoad(() => api.infer(model, row(1)), 4);
    await waitFor(() => load.ok > 50, { timeoutMs: 20_000, what: 'load to flow' });
    dockerCli(['kill', victim]);
    const killedAt = load.ok;
    // Until Swarm has replaced it, and a while after.
    await waitFor(() => containersOf('serving').filter((c) => c !== victim).length === 2, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the replica to be replaced',
    });
    await waitFor(() => load.ok > killedAt + 200, { timeoutMs: 30_000, what: 'more answers' });
    const r = await load.stop();
    console.log(`# replica killed under load: ${r.ok} ok, ${r.failed} failed`, r.errors);
    assert.ok(r.failed <= 3, `${r.failed} failed requests: ${r.errors.join('; ')}`);
    assert.ok(r.ok > killedAt + 200, 'the gateway kept answering');
  });

  test('serving scaled to 4: the gateway spreads requests over all four', async () => {
    const load = steadyLoad(() => api.infer(model, row(2)), 4);
    await waitFor(() => load.ok > 20, { timeoutMs: 20_000, what: 'load to flow' });
    const t0 = Date.now();
    dockerCli(['service', 'scale', '--detach', `${stack}_serving=4`]);
    // Swarm holds a task in `starting` until its healthcheck passes, and only then does DNS
    // (tasks.serving) list it: "running" is when the gateway may use it.
    await waitFor(
      () =>
        dockerCli(['service', 'ps', '-q', '--filter', 'desired-state=running', `${stack}_serving`])
          .split('\n')
          .filter(Boolean)
          .every((t) => dockerCli(['inspect', '-f', '{{.Status.State}}', t]) === 'running'),
      { timeoutMs: 90_000, intervalMs: 250, what: '4 running replicas' },
    );
    const running = Date.now();
    // A replica's hostname, which it sends as x-served-by, is its container's short id.
    const replicas = containersOf('serving');
    assert.equal(replicas.length, 4);
    await waitFor(() => replicas.every((id) => load.servedBy.has(id)), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'answers from all four replicas',
    });
    const used = Date.now();
    // Spread: a fresh window of requests reaches every live replica.
    load.servedBy.clear();
    await waitFor(() => replicas.every((id) => load.servedBy.has(id)), {
      timeoutMs: 10_000,
      what: 'a window with all four',
    });
    const r = await load.stop();
    console.log(
      `# scaled 2 -> 4: running after ${((running - t0) / 1000).toFixed(1)} s, in use ${((used - running) / 1000).toFixed(1)} s later; ${r.failed} failed`,
      Object.fromEntries(load.servedBy),
    );
    assert.ok(used - running < 5_000, 'new replicas used within a few seconds of running');
    assert.ok(
      r.failed <= 3,
      `${r.failed} failed requests: ${r.errors.join('; ')}\n${taskHistory('gateway')}\n${taskHistory('serving')}`,
    );
  });

  test('an allow-listed trainer that exits 3: failed, exit code archived, no leftover service', async () => {
    const created = await api.json<{ id: string }>('POST', '/api/v1/sessions', {
      model: 'exits-3',
      dataset: 'digits',
      trainer: 'external',
      container: { command: ['sh', '-c', 'echo giving up >&2; exit 3'] },
    });
    const s = await waitFor(
      async () => {
        const rec = await api.json<{
          state: string;
          exitCode?: number;
          lastLogs?: string[];
          events: { kind: string; payload: { exitCode?: number } }[];
        }>('GET', `/api/v1/sessions/${created.id}`);
        // The state turns failed a moment before session.finished is archived: wait for both.
        const finished = rec.events.some((e) => e.kind === 'session.finished');
        return rec.state === 'failed' && finished ? rec : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the session to fail and be archived' },
    );
    assert.equal(s.exitCode, 3);
    assert.ok(s.lastLogs?.includes('giving up'), JSON.stringify(s.lastLogs));
    const finished = s.events.find((e) => e.kind === 'session.finished');
    assert.equal(finished?.payload.exitCode, 3, 'the archive holds the exit code');
    await waitFor(() => workerServices().length === 0, {
      timeoutMs: 20_000,
      what: 'the worker service to be removed',
    });
  });

  test('a non-allow-listed image or a bind mount: 403, nothing launched', async () => {
    const before = await api.json<{ total: number }>('GET', '/api/v1/sessions');
    const asks = [
      { trainer: 'external', container: { image: 'alpine:3' } },
      {
        trainer: 'external',
        container: { mounts: [{ type: 'bind', source: '/', target: '/host' }], command: ['sh'] },
      },
    ];
    for (const ask of asks) {
      const r = await api.request('POST', '/api/v1/sessions', {
        model: 'refused',
        dataset: 'digits',
        ...ask,
      });
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal((r.body as { error: string }).error, 'NOT_ALLOWED');
    }
    const later = await api.json<{ total: number }>('GET', '/api/v1/sessions');
    assert.equal(later.total, before.total, 'no session was queued');
    assert.deepEqual(workerServices(), [], 'no worker service was created');
    const [redis] = containersOf('redis');
    const denied = dockerCli([
      'exec',
      redis!,
      'sh',
      '-c',
      'redis-cli --no-auth-warning --user admin --pass "$(cat /run/secrets/redis_pw_admin)" XREVRANGE swarmml:events + - COUNT 20',
    ]);
    assert.equal(denied.match(/security\.denied/g)?.length, 2, 'both refusals are archived');
  });

  test('Redis killed with SIGKILL restarts from its volume with every acknowledged write', async () => {
    const [first] = containersOf('redis');
    assert.ok(first);
    const auth =
      'redis-cli --no-auth-warning --user admin --pass "$(cat /run/secrets/redis_pw_admin)"';
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
    const second = await waitFor(() => containersOf('redis').find((c) => c !== first), {
      timeoutMs: 60_000,
      what: 'a new Redis task',
    });
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
    // The platform's own writes came back too, and the services reconnected.
    const m = await waitFor(
      async () => {
        const r = await api.request('GET', `/api/v1/models/${model}`);
        return r.status === 200 ? (r.body as { production: number }) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the gateway to read the registry again' },
    );
    assert.equal(m.production, 1);
  });
});
