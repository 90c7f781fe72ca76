/**
 * Swarm across nodes, on simulated nodes (scripts/swarm-nodes.sh): time from swarm-up.sh to
 * ready on 1 and on 3 nodes (each node pulls from the registry: fresh engines), session start
 * p50 on the 3-node swarm (POST to the worker running, goal < 3 s) handed to warm spares and,
 * side by side, in a service of its own, and the failover window
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

  /**
   * `n` sessions of the built-in trainer (1 epoch), one after another: POST to `running` (its
   * hello, once its container and node are up). One at a time, so a session still training
   * does not slow the next one's start.
   */
  const startTimes = async (n: number, extra: Record<string, unknown>) => {
    const starts: number[] = [];
    let warm = 0;
    const nodesUsed: string[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      const r = await call('POST', '/api/v1/sessions', {
        model: 'bench-start',
        dataset: 'digits',
        trainer: 'mlp',
        params: { epochs: 1 },
        ...extra,
      });
      const id = r.body.id as string;
      const get = async () =>
        (await call('GET', `/api/v1/sessions/${id}`)).body as {
          state: string;
          placement?: unknown;
        };
      await until(
        async () => ['running', 'succeeded', 'failed'].includes((await get()).state) || undefined,
        60_000,
        'a session to start',
      );
      starts.push(Date.now() - t0);
      const placed = (await get()).placement as { warm?: boolean; node?: string } | null;
      if (placed?.warm) warm++;
      nodesUsed.push((placed?.node ?? '?').replace('swarmml-', ''));
      await until(
        async () => ['succeeded', 'failed', 'stopped'].includes((await get()).state) || undefined,
        120_000,
        'the session to end',
      );
    }
    return { p50: p(starts, 0.5), max: Math.max(...starts), warm, nodesUsed };
  };
  // Each node keeps a warm spare trainer, which CPU trainings are handed. A GPU training gets a
  // service of its own (Swarm reserves its device): the cold start, side by side on n2.
  const warm = await startTimes(N, {});
  const cold = await startTimes(Math.max(3, Math.round(N / 2)), { device: 'gpu' });
  results.push(
    `session start on 3 nodes (POST to running): warm spares p50 ${s(warm.p50)} s, max ${s(warm.max)} s (goal < 3 s; ${warm.warm} of ${N} in a spare, on ${warm.nodesUsed.join(' ')}); ` +
      `a service of its own (GPU, n2) p50 ${s(cold.p50)} s, max ${s(cold.max)} s; warm/cold ${(warm.p50 / cold.p50).toFixed(2)}`,
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
