// Store throughput against redis-benchmark on the same server in the same run, plus the
// cost of appendfsync always vs everysec for small writes.
// Run: node --import tsx scripts/bench/store/main.ts [--mib 256] [--runs 3]
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { RedisServer } from '../../../shared/runtime/redis-server.js';
import { freePort } from '../../../shared/runtime/net.js';
import { Keys } from '../../../shared/store/keys.js';
import { ModelRegistry } from '../../../shared/store/model-registry.js';
import { DatasetStore } from '../../../shared/store/dataset-store.js';
import { EventLog } from '../../../shared/store/event-log.js';
import type { TabularBatch } from '../../../shared/index.js';
import { redisBenchmark } from './redis-benchmark.js';

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const MB = 1024 * 1024;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Lets the disk catch up before a measured phase: AOF writes of one phase would otherwise
 * be flushed by the kernel during the next one, and the AOF (about 230 MB/s fsync'd on the
 * dev VM) is slower than the memory path being compared.
 */
function settle(): void {
  spawnSync('sync');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  settle();
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-store-'));
  const port = await freePort();
  const server = new RedisServer({ dir, port, appendfsync: 'everysec' });
  await server.start();
  const redis = new Redis(server.url);
  // An AOF rewrite in the middle of one measurement but not another would skew the ratios.
  await redis.config('SET', 'auto-aof-rewrite-percentage', '0');
  const rows: Array<[string, string, string]> = [];
  try {
    // Each of our runs is paired with a redis-benchmark run just before it on the same
    // server, and ratios are taken per pair: the machine is shared, so throughput drifts.
    const n = String(Math.max(64, MIB));
    // 1 MiB values, no pipelining: the same requests our store makes.
    const benchmark = (clients: number) =>
      redisBenchmark(port, [
        '-t',
        'set,get',
        '-d',
        String(MB),
        '-n',
        n,
        '-P',
        '1',
        '-c',
        String(clients),
      ]);
    const limit = async () => {
      settle();
      const r = benchmark(1);
      await redis.flushall();
      return { set: r.SET ?? NaN, get: r.GET ?? NaN }; // 1 MiB per request: req/s = MiB/s
    };
    const weights = randomBytes(MIB * MB);
    const shaS = await timed(async () => createHash('sha256').update(weights).digest());
    const dim = 255; // (255 features + 1 label) * 4 bytes * 1024 rows = 1 MiB + header
    const shard: TabularBatch = {
      kind: 'tabular',
      rows: 1024,
      dim,
      features: Float32Array.from({ length: 1024 * dim }, (_, i) => i % 997),
      labels: Float32Array.from({ length: 1024 }, (_, i) => i % 10),
    };
    const m = {
      set: [] as number[],
      get: [] as number[],
      wr: [] as number[],
      rd: [] as number[],
      dw: [] as number[],
      dr: [] as number[],
      wrR: [] as number[],
      rdR: [] as number[],
      dwR: [] as number[],
      drR: [] as number[],
    };
    for (let i = 0; i < RUNS; i++) {
      let lim = await limit();
      m.set.push(lim.set);
      m.get.push(lim.get);
      const reg = new ModelRegistry(redis, new Keys(`bench-${i}`), { chunkSize: MB });
      const wr = MIB / (await timed(() => reg.addGeneration('w', { type: 'c', weights })));
      let back: Buffer | undefined;
      const rd = MIB / (await timed(async () => (back = await reg.getWeights('w', 1))));
      if (!back?.equals(weights)) throw new Error('weights did not round-trip');
      await reg.deleteModel('w');
      m.wr.push(wr);
      m.rd.push(rd);
      m.wrR.push(wr / lim.set);
      m.rdR.push(rd / lim.get);

      lim = await limit();
      m.set.push(lim.set);
      m.get.push(lim.get);
      const store = new DatasetStore(redis, new Keys(`bench-ds-${i}`));
      const dw =
        MIB /
        (await timed(async () => {
          const w = store.beginVersion('d');
          for (let s = 0; s < MIB; s++) await w.writeShard(shard);
          await w.commit({ kind: 'tabular', format: 'bench', features: dim, labelKind: 'class' });
        }));
      let count = 0;
      const dr =
        MIB /
        (await timed(async () => {
          for await (const b of store.readShards('d', 1)) count += b.rows;
        }));
      if (count !== MIB * 1024) throw new Error(`read ${count} rows`);
      await store.deleteVersion('d', 1);
      m.dw.push(dw);
      m.dr.push(dr);
      m.dwR.push(dw / lim.set);
      m.drR.push(dr / lim.get);
    }
    settle();
    const c4 = benchmark(4);
    await redis.flushall();
    const mibs = (x: number) => `${x.toFixed(0)} MiB/s`;
    const pct = (r: number) => `${(100 * r).toFixed(0)}% of redis-benchmark`;
    rows.push(['redis-benchmark SET 1 MiB -P 1 -c 1', mibs(median(m.set)), 'limit']);
    rows.push(['redis-benchmark GET 1 MiB -P 1 -c 1', mibs(median(m.get)), 'limit']);
    rows.push(['redis-benchmark SET 1 MiB -P 1 -c 4', mibs(c4.SET ?? NaN), '']);
    rows.push(['redis-benchmark GET 1 MiB -P 1 -c 4', mibs(c4.GET ?? NaN), '']);
    rows.push(['sha256 alone (part of both weights paths)', mibs(MIB / shaS), '']);
    rows.push([`addGeneration ${MIB} MiB, 1 MiB chunks`, mibs(median(m.wr)), pct(median(m.wrR))]);
    rows.push([`getWeights ${MIB} MiB (verifies sha256)`, mibs(median(m.rd)), pct(median(m.rdR))]);
    rows.push([`dataset writer ${MIB} x 1 MiB shards`, mibs(median(m.dw)), pct(median(m.dwR))]);
    rows.push([`dataset readShards ${MIB} x 1 MiB`, mibs(median(m.dr)), pct(median(m.drR))]);

    // ── appendfsync: small writes ─────────────────────────────────────────────────────
    for (const policy of ['everysec', 'always'] as const) {
      await redis.config('SET', 'appendfsync', policy);
      const log = new EventLog(redis, new Keys(`bench-ev-${policy}`));
      const N = policy === 'always' ? 500 : 2000;
      const ev = await timed(async () => {
        for (let i = 0; i < N; i++)
          await log.append({ kind: 'epoch', sessionId: 's', payload: { i, loss: 0.1 } });
      });
      const reg = new ModelRegistry(redis, new Keys(`bench-gen-${policy}`));
      const G = policy === 'always' ? 100 : 300;
      const gens = await timed(async () => {
        for (let i = 0; i < G; i++)
          await reg.addGeneration('small', { type: 'c', weights: Buffer.alloc(256, i) });
      });
      const set = redisBenchmark(port, [
        '-t',
        'set',
        '-d',
        '100',
        '-n',
        '20000',
        '-P',
        '1',
        '-c',
        '1',
      ]);
      const set16 = redisBenchmark(port, [
        '-t',
        'set',
        '-d',
        '100',
        '-n',
        '20000',
        '-P',
        '1',
        '-c',
        '16',
      ]);
      rows.push([
        `[${policy}] event append, sequential`,
        `${((1e6 * ev) / N).toFixed(0)} us/op`,
        `${(N / ev).toFixed(0)} op/s`,
      ]);
      rows.push([
        `[${policy}] addGeneration 256 B, sequential`,
        `${((1e6 * gens) / G).toFixed(0)} us/op`,
        `${(G / gens).toFixed(0)} op/s`,
      ]);
      rows.push([
        `[${policy}] redis-benchmark SET 100 B -c 1`,
        `${(set.SET ?? NaN).toFixed(0)} op/s`,
        '',
      ]);
      rows.push([
        `[${policy}] redis-benchmark SET 100 B -c 16`,
        `${(set16.SET ?? NaN).toFixed(0)} op/s`,
        '',
      ]);
    }
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`store bench: ${MIB} MiB, median of ${RUNS} runs, redis ${port}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
