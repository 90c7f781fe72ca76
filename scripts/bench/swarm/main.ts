/**
 * Swarm across nodes, on simulated nodes (scripts/swarm-nodes.sh): time from swarm-up.sh to
 * ready on 1 and on 3 nodes (each node pulls from the registry: fresh engines), session start
 * p50 on the 3-node swarm (POST to the worker running, goal < 3 s), and the failover window
 * when a worker node's engine is killed under 16 clients. Root; the image is built by swarm-up.sh.
 * Run: node --import tsx scripts/bench/swarm/main.ts [sessions=10]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.argv[2] ?? 10);
const s = (ms: number) => (ms / 1000).toFixed(1);

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Nodes up, then swarm-up.sh on them; returns the stack's URL and token and both times. */
function deploy(nodes: number, home: string) {
  const t0 = Date.now();
  sh('scripts/swarm-nodes.sh', ['up', String(nodes)]);
  const tNodes = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const l of sh('scripts/swarm-nodes.sh', ['env']).split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(l);
    if (m) env[m[1]!] = m[2]!;
  }
  Object.assign(env, {
    SWARMML_STACK: 'bench',
    SWARMML_HOME: home,
    SWARMML_SERVING_REPLICAS: String(nodes),
  });
  sh('scripts/swarm-up.sh', [], env);
  const tUp = Date.now();
  const token = readFileSync(join(home, 'secrets/admin_token'), 'utf8').trim();
  return {
    url: `http://${env.SWARMML_PUBLIC_HOST}:8080`,
    token,
    nodesMs: tNodes - t0,
    upMs: tUp - tNodes,
  };
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const raw = Buffer.isBuffer(body);
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': raw ? 'application/octet-stream' : 'application/json',
    },
    ...(body === undefined ? {} : { body: raw ? new Uint8Array(body) : JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: res.status,
    body: (await res.json().catch(() => null)) as Record<string, unknown>,
  };
}

async function until<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const p = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
const results: string[] = [];
const home1 = mkdtempSync(join(tmpdir(), 'swarmml-bench-1-'));
const home3 = mkdtempSync(join(tmpdir(), 'swarmml-bench-3-'));
try {
  // The image is built (and pushed) once before the timed runs.
  sh('scripts/build-image.sh', []);
  const one = deploy(1, home1);
  results.push(`1 node : nodes ${s(one.nodesMs)} s, swarm-up.sh to ready ${s(one.upMs)} s`);
  sh('scripts/swarm-nodes.sh', ['down']);

  const three = deploy(3, home3);
  results.push(`3 nodes: nodes ${s(three.nodesMs)} s, swarm-up.sh to ready ${s(three.upMs)} s`);
  const call = (m: string, path: string, b?: unknown) => api(three.url, three.token, m, path, b);
  await call(
    'POST',
    '/api/v1/datasets/digits?format=csv&header=false',
    readFileSync('test/fixtures/digits.csv.gz'),
  );

  const starts: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = Date.now();
    // The built-in trainer says hello once its container and node are up: that is `running`.
    // (A bare `sleep` never says hello, so its session is never seen running: only ended.)
    const r = await call('POST', '/api/v1/sessions', {
      model: 'bench-start',
      dataset: 'digits',
      trainer: 'mlp',
      params: { epochs: 1 },
    });
    const id = r.body.id as string;
    const state = async () => (await call('GET', `/api/v1/sessions/${id}`)).body.state as string;
    await until(
      async () => ['running', 'succeeded', 'failed'].includes(await state()) || undefined,
      60_000,
      'a session to start',
    );
    starts.push(Date.now() - t0);
    // One at a time: a session still training would slow the next one's start.
    await until(
      async () => ['succeeded', 'failed', 'stopped'].includes(await state()) || undefined,
      120_000,
      'the session to end',
    );
  }
  results.push(
    `session start on 3 nodes (POST to running, ${N}): p50 ${s(p(starts, 0.5))} s, max ${s(Math.max(...starts))} s (goal < 3 s)`,
  );

  // Failover: a production model, 16 clients, then n3's engine killed.
  await call('POST', '/api/v1/sessions', {
    model: 'bench',
    dataset: 'digits',
    params: { hidden: [16], epochs: 2 },
  });
  await until(
    async () => (await call('GET', '/api/v1/models/bench')).body.production === 1 || undefined,
    180_000,
    'production',
  );
  const body = {
    inputs: [{ name: 'input', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(1) }],
  };
  await until(
    async () => (await call('POST', '/v2/models/bench/infer', body)).status === 200 || undefined,
    60_000,
    'serving',
  );
  const done: { start: number; end: number; ok: boolean }[] = [];
  let stop = false;
  const client = async () => {
    while (!stop) {
      const start = Date.now();
      const ok = await call('POST', '/v2/models/bench/infer', body).then(
        (r) => r.status === 200,
        () => false,
      );
      done.push({ start, end: Date.now(), ok });
    }
  };
  const clients = Array.from({ length: 16 }, client);
  await new Promise((r) => setTimeout(r, 5_000));
  const killedAt = Date.now();
  sh('scripts/swarm-nodes.sh', ['kill', 'n3']);
  await new Promise((r) => setTimeout(r, 30_000));
  stop = true;
  await Promise.all(clients);
  const after = done.filter((d) => d.end >= killedAt);
  const bad = after.filter((d) => !d.ok || d.end - d.start > 1_000);
  const before = done.filter((d) => d.end < killedAt);
  results.push(
    `failover (n3 killed, 16 clients): window ${bad.length ? s(Math.max(...bad.map((d) => d.end)) - killedAt) : '0.0'} s; ` +
      `${after.filter((d) => !d.ok).length} failed of ${after.length}; p50 latency before ${p(
        before.map((d) => d.end - d.start),
        0.5,
      )} ms, ` +
      `slowest after ${Math.max(...after.map((d) => d.end - d.start))} ms`,
  );
} finally {
  spawnSync('scripts/swarm-nodes.sh', ['down'], { stdio: 'inherit' });
  rmSync(home1, { recursive: true, force: true });
  rmSync(home3, { recursive: true, force: true });
  console.log(results.join('\n'));
}
