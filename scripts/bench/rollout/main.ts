/**
 * What shadows cost the client: p50 and p99 through swarmml serving (a real MLP 784-128-10,
 * onnxruntime, the registry in a real redis-server) at 16 and 64 connections with no rollout,
 * with the challenger shadowed at 100 %, and with three shadows at 100 %, side by side in one
 * run. Goal: the client p50 with shadows is at most 1.1x without them.
 *
 *   npx tsx scripts/bench/rollout/main.ts            # BENCH_DURATION_S=8 by default
 *
 * Serving runs in a child process, so the load generator never shares its event loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  DEFAULT_ROLLOUT_POLICY,
  Keys,
  ModelRegistry,
  RedisServer,
  createLogger,
  createRedis,
  freePort,
  readRollout,
  writeRollout,
  type RolloutState,
} from '../../../shared/index.js';
import { buildApp } from '../../../services/serving/app.js';
import { loadConfig } from '../../../services/serving/config.js';
import { RegistrySource } from '../../../services/serving/hosting/registry-source.js';
import { mlpModel } from '../../../test/helpers/onnx-models.js';

const M = 'mlp';
const PREFIX = 'bench-rollout';
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONNS = [16, 64];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The child: serving over the registry, with rollouts read from Redis. */
async function child(redisUrl: string): Promise<void> {
  const log = createLogger('bench', 'warn');
  const keys = new Keys(PREFIX);
  const redis = createRedis(redisUrl, log);
  const registry = new ModelRegistry(redis, keys);
  const source = new RegistrySource(registry, createRedis(redisUrl, log), keys, log, { redis });
  const app = buildApp({
    config: loadConfig({ PORT: '0', OPTIMIZE_ON_PROMOTION: '0', DRIFT: '0', BATCH_WORKER: '0' }),
    log,
    source,
    rollout: { redis, keys },
  });
  await app.start();
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port: (app.server.address() as AddressInfo).port });
}

function spawn(redisUrl: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(fileURLToPath(import.meta.url), ['serving', redisUrl], {
    execArgv: process.execArgv,
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, port: (m as { port: number }).port }));
    proc.once('exit', (code) => reject(new Error(`serving exited (${code})`)));
  });
}

function shadowState(shadows: number[]): RolloutState {
  const now = Date.now();
  return {
    model: M,
    revision: 0,
    status: 'running',
    production: 1,
    challenger: 2,
    shadows,
    phase: 'shadow',
    step: 0,
    canaryPercent: 0,
    policy: {
      ...DEFAULT_ROLLOUT_POLICY,
      canarySteps: [...DEFAULT_ROLLOUT_POLICY.canarySteps],
      gates: { ...DEFAULT_ROLLOUT_POLICY.gates },
      shadowFraction: 1,
    },
    startedAt: now,
    stepStartedAt: now,
    stepBaseline: {},
    lastReadings: [],
    reason: 'benchmark',
  };
}

interface Row {
  scenario: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  shadowed: string;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rollout-'));
  const server = new RedisServer({ dir, port: await freePort(), appendfsync: 'no' });
  await server.start();
  const log = createLogger('bench', 'warn');
  const redis = createRedis(server.url, log);
  const keys = new Keys(PREFIX);
  const registry = new ModelRegistry(redis, keys);
  // Four generations of the same shape: production and up to three shadows.
  for (let seed = 1; seed <= 4; seed++) {
    await registry.addGeneration(M, {
      type: 'classifier',
      weights: mlpModel([784, 128, 10], seed),
    });
  }
  await registry.promote(M, 1);
  const { proc, port } = await spawn(server.url);
  const url = `http://127.0.0.1:${port}/v2/models/${M}/infer`;
  const data = Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 784], datatype: 'FP32', data }] });
  const load = (connections: number, duration: number) =>
    autocannon({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      connections,
      duration,
    });
  const counters = async () => {
    const out: Record<number, Record<string, string>> = {};
    for (const g of [2, 3, 4]) out[g] = await redis.hgetall(keys.modelGenOnline(M, g));
    return out;
  };
  const scenarios: [string, number[] | null][] = [
    ['no shadow', null],
    ['1 shadow at 100%', []],
    ['3 shadows at 100%', [3, 4]],
    // again at the end: the machine's load drifts, so the baseline brackets the shadow runs
    ['no shadow', null],
  ];
  /** Sends one request at a time until `done` says the setup is in place (60 s at most). */
  const until = async (what: string, done: () => Promise<boolean>) => {
    const deadline = Date.now() + 60_000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`not ready in 60 s: ${what}`);
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    }
  };
  await until('production loaded', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/${M}/ready`);
    return res.status === 200;
  });
  // JIT, batcher and model process warmed before the first measured row.
  await load(64, 5);
  const rows: Row[] = [];
  for (const [name, shadows] of scenarios) {
    const cur = await readRollout(redis, keys, M);
    await writeRollout(
      redis,
      keys,
      M,
      shadows ? shadowState(shadows) : null,
      cur?.revision ?? null,
    );
    // Every shadow's model process loaded and answering before anything is measured.
    const gens = shadows ? [2, ...shadows] : [];
    const start = await counters();
    await until(`${name} answering`, async () => {
      const now = await counters();
      return gens.every(
        (g) => Number(now[g]?.shadowCompared ?? 0) > Number(start[g]?.shadowCompared ?? 0),
      );
    });
    await load(64, 3);
    for (const connections of CONNS) {
      const before = await counters();
      const r = await load(connections, DURATION_S);
      const after = await counters();
      const n = (g: number, f: string) => Number(after[g]?.[f] ?? 0) - Number(before[g]?.[f] ?? 0);
      const shadowed = [2, 3, 4]
        .filter((g) => n(g, 'shadowSent') + n(g, 'shadowDropped') > 0)
        .map((g) => `g${g}: ${n(g, 'shadowCompared')} compared, ${n(g, 'shadowDropped')} dropped`)
        .join('; ');
      rows.push({
        scenario: name,
        connections,
        rps: Math.round(r.requests.average),
        p50: r.latency.p50,
        p99: r.latency.p99,
        failed: r.non2xx + r.errors + r.timeouts,
        shadowed: shadowed || '-',
      });
    }
  }
  const base = (c: number) => {
    const b = rows.filter((r) => r.scenario === 'no shadow' && r.connections === c);
    return { p50: mean(b.map((r) => r.p50)), p99: mean(b.map((r) => r.p99)) };
  };
  console.log(
    `\nclient latency through serving, ${DURATION_S} s per row (ratios against the mean of the two no-shadow runs)`,
  );
  console.log(
    [
      'scenario',
      'conns',
      'req/s',
      'p50 ms',
      'p99 ms',
      'p50 ratio',
      'p99 ratio',
      'failed',
      'shadows',
    ].join(' | '),
  );
  for (const r of rows) {
    const b = base(r.connections);
    console.log(
      [
        r.scenario,
        r.connections,
        r.rps,
        r.p50,
        r.p99,
        (r.p50 / Math.max(b.p50, 1e-9)).toFixed(2),
        (r.p99 / Math.max(b.p99, 1e-9)).toFixed(2),
        r.failed,
        r.shadowed,
      ].join(' | '),
    );
  }
  const worst = Math.max(
    ...rows
      .filter((r) => r.scenario !== 'no shadow')
      .map((r) => r.p50 / Math.max(base(r.connections).p50, 1e-9)),
  );
  console.log(`\nworst p50 ratio with shadows: ${worst.toFixed(2)} (goal ≤ 1.10)`);
  proc.disconnect();
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === 'serving') await child(process.argv[3]!);
else await main();
