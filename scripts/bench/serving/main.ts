/**
 * Serving benchmark, every contender of a part in one run under one load generator:
 *
 * small model, 784-128-10 MLP over KServe v2 JSON, concurrency 1, 16, 64:
 *   (a) bare node:http answering a fixed body of the response's size, (a-naive) node:http +
 *   JSON.parse + session.run + JSON.stringify and nothing else, (b) plain express +
 *   session.run per request, (c) swarmml serving with the model in a model process, (c-thread)
 *   the same with the model in a model thread, (c-inline) on serving's HTTP thread, (c-direct) serving's direct port (API token
 *   checked, model in a thread), (d) the gateway (auth, forwarding over the serving link) in
 *   front of (c-thread), (d-http) the same gateway forwarding by HTTP (`SERVING_LINK=0`).
 * small model through the gateway, one protocol against another, concurrency 1, 16, 64:
 *   HTTP JSON, HTTP binary tensors (autocannon), gRPC raw and typed contents (grpc-load.ts:
 *   a @grpc/grpc-js client keeping that many calls in flight on one channel).
 * compute-bound model, PaddleOCR PP-OCRv4 rec over KServe v2 binary tensors, concurrency 1, 8, 32,
 * loaded by closed-loop.ts (autocannon makes every 1 MB answer a string):
 *   (a') raw onnxruntime in-process at its best batch size, (a'') bare node:http answering bytes of
 *   the answer's size (the transport's share), (b') express + session.run, (c') serving
 *   (model process), (c'-thread) serving with the model in a thread.
 *
 *   node --import tsx scripts/bench/serving/main.ts
 *   env: BENCH_PARTS=mlp,replicas,grpc,ocr  BENCH_REPLICAS=1,2  BENCH_THREADS=1  BENCH_OCR_THREADS=<cores>
 *        BENCH_MLP_FEATURES=784 (13: a tabular row, the small body the fast-path goals speak of)
 *        BENCH_WARM_UP_S=1  BENCH_DURATION_S=5  BENCH_CONNECTIONS=1,16,64  BENCH_ROUNDS=1  BENCH_OCR_CONNECTIONS=1,8,32
 *        BENCH_OCR_WIDTH=320  BENCH_OCR_CLIENT=closed-loop (or autocannon)  BENCH_OUT=figures.json
 *        BENCH_BUILD=dist (serving and the gateway as compiled by `npm run build`; or source)
 */
import { BUILD } from './platform.js';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { RedisServer } from '../../../shared/runtime/redis-server.js';
import { freePort } from '../../../shared/runtime/net.js';
import { mlpModel, seededFloats } from '../../../test/helpers/onnx-models.js';
import { BENCH_TOKEN, startGateway } from './gateway-server.js';
import { grpcLoad } from './grpc-load.js';
import { closedLoop } from './closed-loop.js';
import { treeCpuSeconds } from './cpu-meter.js';
import { OCR_SHAPE, bareOcr, expressOcr, ocrRequest, rawOcr, servingOcr } from './ocr-servers.js';
import {
  BENCH_CLIENT_TOKEN,
  MLP_FEATURES,
  MLP_SIZES,
  servingDirect,
  startServer,
} from './servers.js';

/** The small model's contenders, in the order the tables list them. */
const MLP_KINDS = [
  'bare',
  'naive',
  'express',
  'serving',
  'serving-thread',
  'serving-inline',
  'serving-direct',
  'gateway',
  'gateway-http',
] as const;
const KINDS = [
  ...MLP_KINDS,
  'express-ocr',
  'serving-ocr',
  'serving-ocr-thread',
  'raw-ocr',
  'bare-ocr',
] as const;
type Kind = (typeof KINDS)[number];

const env = process.env;
const parts = (env.BENCH_PARTS ?? 'mlp,replicas,grpc,ocr').split(',');
const durationS = Number(env.BENCH_DURATION_S ?? 5);
const mlpConns = (env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map(Number);
/** passes over the small model's contenders; figures are medians over them */
const mlpRounds = Math.max(1, Number(env.BENCH_ROUNDS ?? 1));
const ocrConns = (env.BENCH_OCR_CONNECTIONS ?? '1,8,32').split(',').map(Number);
/**
 * onnxruntime intra-op threads of every contender that runs a model (raw, express, serving),
 * so that they compare like with like; the small model's default is 1 (threads only add
 * hand-offs to a model that costs microseconds), the compute-bound one's every core.
 */
const mlpThreads = Number(env.BENCH_THREADS ?? 1);
const ocrThreads = Number(env.BENCH_OCR_THREADS ?? cpus().length);
/** load on every server before it is measured, and runs of every raw session */
const WARM_UP_S = Number(env.BENCH_WARM_UP_S ?? 1);
/**
 * The OCR part's load generator: closed-loop (an undici pool, answers read as bytes) unless
 * `autocannon`, which spends ~10 ms of CPU per 1 MB answer making it a string (closed-loop.ts).
 */
const ocrClient = env.BENCH_OCR_CLIENT === 'autocannon' ? 'autocannon' : 'closed-loop';

async function sampleBodies(): Promise<{ request: string; response: string }> {
  const x = seededFloats(MLP_FEATURES, 1, 1);
  const session = await ort.InferenceSession.create(mlpModel(MLP_SIZES));
  const probs = (await session.run({ x: new ort.Tensor('float32', x, [1, MLP_FEATURES]) })).probs!;
  await session.release();
  return {
    request: JSON.stringify({
      inputs: [{ name: 'x', shape: [1, MLP_FEATURES], datatype: 'FP32', data: Array.from(x) }],
    }),
    response: JSON.stringify({
      model_name: 'mlp',
      model_version: '1',
      outputs: [
        {
          name: 'probs',
          datatype: 'FP32',
          shape: [1, 10],
          data: Array.from(probs.data as Float32Array),
        },
      ],
    }),
  };
}

/** Child role: start one server (or measure raw onnxruntime), report, live until the parent goes. */
async function child(kind: Kind, args: string[]): Promise<void> {
  let msg: unknown;
  if (kind === 'raw-ocr') msg = { raw: await rawOcr(Number(args[0] ?? 3), ocrThreads, WARM_UP_S) };
  else if (kind === 'gateway' || kind === 'gateway-http') {
    msg = await startGateway(args[0]!, args[1]!, { link: kind === 'gateway' });
  } else if (kind === 'express-ocr') msg = { port: await expressOcr(ocrThreads) };
  else if (kind === 'bare-ocr') msg = { port: await bareOcr() };
  else if (kind === 'serving-direct') msg = { port: await servingDirect(mlpThreads, args[0]!) };
  else if (kind === 'serving-ocr' || kind === 'serving-ocr-thread') {
    const mode = kind === 'serving-ocr' ? 'process' : 'thread';
    msg = { port: await servingOcr(Number(args[0] ?? 8), ocrThreads, mode) };
  } else msg = { port: await startServer(kind, (await sampleBodies()).response, mlpThreads) };
  process.send?.(msg);
  process.on('disconnect', () => process.exit(0));
}

/** What a child reports: its port, or (raw-ocr) its in-process figures. */
interface ChildMsg {
  port: number;
  /** the gateway's gRPC port */
  grpcPort: number;
  raw: { batch: number; rowsPerSec: number }[];
}

function spawn(kind: Kind, args: string[] = []): Promise<{ proc: ChildProcess; msg: ChildMsg }> {
  const proc = fork(fileURLToPath(import.meta.url), [kind, ...args], {
    execArgv: process.execArgv,
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (msg) => resolve({ proc, msg: msg as ChildMsg }));
    proc.once('exit', (code) => reject(new Error(`${kind} exited (${code})`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.disconnect();
  await gone;
}

interface Row {
  part: 'mlp' | 'grpc' | 'ocr' | 'replicas';
  kind: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** the pass it was measured in (BENCH_ROUNDS) */
  round?: number;
  /** CPU µs per request of each measured server process tree, by name */
  cpuUs?: Record<string, number>;
}

/** A server ready for load: where to send it, with what, and whose CPU to count. */
interface Target {
  part: Row['part'];
  kind: string;
  url: string;
  body: string | Buffer;
  headers: Record<string, string>;
  pids?: Record<string, number>;
  generator?: typeof autocannon;
}

/** `WARM_UP_S` of load at the highest concurrency, not measured. */
async function warmUp(t: Target, conns: number[]): Promise<void> {
  const { url, headers, body, generator = autocannon } = t;
  await generator({
    url,
    method: 'POST',
    headers,
    body,
    connections: Math.max(...conns),
    duration: WARM_UP_S,
  });
}

/** One measured cell per concurrency, with the CPU each named process tree spent. */
async function measure(t: Target, conns: number[], round?: number): Promise<Row[]> {
  const { part, kind, url, headers, body, pids = {}, generator = autocannon } = t;
  const rows: Row[] = [];
  const cpu = () =>
    Object.entries(pids).map(([k, pid]) => [k, treeCpuSeconds(pid) ?? NaN] as const);
  for (const connections of conns) {
    const before = cpu();
    const r = await generator({
      url,
      method: 'POST',
      headers,
      body,
      connections,
      duration: durationS,
    });
    const after = new Map(cpu());
    const n = Math.max(1, r.requests.total);
    const cpuUs = Object.fromEntries(
      before.map(([k, s]) => [k, Math.round(((after.get(k)! - s) * 1e6) / n)]),
    );
    rows.push({
      part,
      kind,
      connections,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.non2xx + r.errors + r.timeouts,
      ...(Object.keys(pids).length ? { cpuUs } : {}),
      ...(round === undefined ? {} : { round }),
    });
    console.error(
      `${round === undefined ? '' : `round ${round + 1}: `}${kind} c=${connections}: ` +
        `${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms`,
    );
  }
  return rows;
}

async function load(t: Target, conns: number[]): Promise<Row[]> {
  await warmUp(t, conns);
  return measure(t, conns);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Each contender's cells of every round as one row: medians, errors summed. */
function medianRows(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r.kind}\0${r.connections}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const cpuKeys = Object.keys(g[0]!.cpuUs ?? {});
    const { round: _round, ...first } = g[0]!;
    return {
      ...first,
      rps: median(g.map((r) => r.rps)),
      p50: median(g.map((r) => r.p50)),
      p99: median(g.map((r) => r.p99)),
      errors: g.reduce((n, r) => n + r.errors, 0),
      ...(cpuKeys.length
        ? {
            cpuUs: Object.fromEntries(
              cpuKeys.map((k) => [k, Math.round(median(g.map((r) => r.cpuUs![k]!)))]),
            ),
          }
        : {}),
    };
  });
}

/**
 * `kind`'s req/s against `base`'s at `c`: the median of each round's ratio, so that both
 * sides of every ratio were measured minutes apart at most, with the spread over rounds.
 */
function ratioOf(rows: Row[], kind: string, base: string, c: number) {
  const at = (k: string) => rows.filter((r) => r.kind === k && r.connections === c);
  const ratios = at(kind).map((r) => r.rps / at(base).find((b) => b.round === r.round)!.rps);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/**
 * Serving scales by replicas: the small model through one gateway spreading over 1, then 2
 * (BENCH_REPLICAS, e.g. 1,2,4,8 on a larger machine) serving processes, at the highest
 * concurrency.
 */
async function replicasPart(): Promise<Row[]> {
  const { request } = await sampleBodies();
  const counts = (env.BENCH_REPLICAS ?? '1,2').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-redis-'));
  const redis = new RedisServer({ dir, port: await freePort() });
  await redis.start();
  const replicas: Awaited<ReturnType<typeof spawn>>[] = [];
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      while (replicas.length < n) replicas.push(await spawn('serving'));
      const ports = replicas.slice(0, n).map((r) => r.msg.port);
      const gw = await spawn('gateway', [ports.join(','), redis.url]);
      try {
        rows.push(
          ...(await load(
            {
              part: 'replicas',
              kind: `${n} replica${n > 1 ? 's' : ''}`,
              url: `http://127.0.0.1:${gw.msg.port}/v2/models/mlp/infer`,
              body: request,
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${BENCH_TOKEN}`,
              },
              pids: { gateway: gw.proc.pid! },
            },
            [Math.max(...mlpConns)],
          )),
        );
      } finally {
        await stop(gw.proc);
      }
    }
  } finally {
    for (const r of replicas) await stop(r.proc);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * Every contender is started first and idles while another is loaded; then each round loads
 * each in turn, in an order shifted by one every round, so that a burst of other work on the
 * machine lands on different contenders in different rounds. BENCH_ROUNDS=1 is one pass.
 */
async function mlpPart(): Promise<Row[]> {
  const { request } = await sampleBodies();
  const json = { 'content-type': 'application/json' };
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-redis-'));
  const redis = new RedisServer({ dir, port: await freePort() });
  const targets: Target[] = [];
  const target = (kind: string, port: number, pids: Record<string, number>, token?: string) =>
    targets.push({
      part: 'mlp',
      kind,
      url: `http://127.0.0.1:${port}/v2/models/mlp/infer`,
      body: request,
      headers: token ? { ...json, authorization: `Bearer ${token}` } : json,
      pids,
    });
  try {
    // each a server of its own; serving-direct and the gateway need Redis
    for (const kind of MLP_KINDS.slice(0, MLP_KINDS.indexOf('serving-direct'))) {
      const { proc, msg } = await spawn(kind);
      procs.push(proc);
      target(kind, msg.port, { [kind]: proc.pid! });
    }
    await redis.start();
    const direct = await spawn('serving-direct', [redis.url]);
    procs.push(direct.proc);
    target(
      'serving-direct',
      direct.msg.port,
      { 'serving-direct': direct.proc.pid! },
      BENCH_CLIENT_TOKEN,
    );
    // serving as `auto` hosts this model in a deployment: in a thread
    const serving = await spawn('serving-thread');
    procs.push(serving.proc);
    for (const kind of ['gateway', 'gateway-http'] as const) {
      const gw = await spawn(kind, [String(serving.msg.port), redis.url]);
      procs.push(gw.proc);
      target(kind, gw.msg.port, { gateway: gw.proc.pid!, serving: serving.proc.pid! }, BENCH_TOKEN);
    }
    for (const t of targets) await warmUp(t, mlpConns);
    const rows: Row[] = [];
    for (let round = 0; round < mlpRounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) rows.push(...(await measure(t, mlpConns, round)));
    }
    return rows;
  } finally {
    for (const p of procs) await stop(p);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The MLP's one-row request as KServe v2 binary tensors, asking for binary outputs. */
function binaryRequest(x: Float32Array): { body: Buffer; headerLength: number } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          shape: [1, MLP_FEATURES],
          datatype: 'FP32',
          parameters: { binary_data_size: x.byteLength },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([head, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]),
    headerLength: head.length,
  };
}

/** CPU µs per request in the load generator, the gateway and serving (with its model processes). */
interface CpuPerRequest {
  client: number;
  gateway: number;
  serving: number;
}

/** One gateway (and serving) process pair, four protocols against it. */
async function grpcPart(): Promise<(Row & { cpu?: CpuPerRequest })[]> {
  const { request } = await sampleBodies();
  const x = seededFloats(MLP_FEATURES, 1, 1);
  const binary = binaryRequest(x);
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-redis-'));
  const redis = new RedisServer({ dir, port: await freePort() });
  await redis.start();
  const serving = await spawn('serving');
  const gw = await spawn('gateway', [String(serving.msg.port), redis.url]);
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
  const url = `http://127.0.0.1:${gw.msg.port}/v2/models/mlp/infer`;
  const address = `127.0.0.1:${gw.msg.grpcPort}`;
  const input = { name: 'x', datatype: 'FP32', shape: [1, MLP_FEATURES] };
  const http = (body: string | Buffer, headers: Record<string, string>) => (c: number, s: number) =>
    autocannon({
      url,
      method: 'POST',
      headers: { ...auth, ...headers },
      body,
      connections: c,
      duration: s,
    }).then((r) => ({
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.non2xx + r.errors + r.timeouts,
    }));
  const grpc = (req: unknown) => (c: number, s: number) =>
    grpcLoad({ address, token: BENCH_TOKEN, request: req, connections: c, durationS: s });
  const kinds: [
    string,
    (c: number, s: number) => Promise<Omit<Row, 'part' | 'kind' | 'connections'>>,
  ][] = [
    ['http-json', http(request, { 'content-type': 'application/json' })],
    [
      'http-binary',
      http(binary.body, {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(binary.headerLength),
      }),
    ],
    [
      'grpc-raw',
      grpc({
        model_name: 'mlp',
        inputs: [input],
        raw_input_contents: [Buffer.from(x.buffer, x.byteOffset, x.byteLength)],
      }),
    ],
    [
      'grpc-typed',
      grpc({
        model_name: 'mlp',
        inputs: [{ ...input, contents: { fp32_contents: Array.from(x) } }],
      }),
    ],
  ];
  const cpuNow = () => ({
    client: process.cpuUsage(),
    gateway: treeCpuSeconds(gw.proc.pid!),
    serving: treeCpuSeconds(serving.proc.pid!),
  });
  const rows: (Row & { cpu?: CpuPerRequest })[] = [];
  try {
    for (const [kind, run] of kinds) {
      await run(Math.max(...mlpConns), 1); // warm-up
      for (const connections of mlpConns) {
        const before = cpuNow();
        const r = await run(connections, durationS);
        const after = cpuNow();
        const n = Math.max(1, r.rps * durationS);
        const us = (s: number) => Math.round((s * 1e6) / n);
        const c = process.cpuUsage(before.client);
        const cpu =
          before.gateway === undefined || after.gateway === undefined
            ? undefined
            : {
                client: us((c.user + c.system) / 1e6),
                gateway: us(after.gateway - before.gateway),
                serving: us((after.serving ?? 0) - (before.serving ?? 0)),
              };
        rows.push({ part: 'grpc', kind, connections, ...r, ...(cpu ? { cpu } : {}) });
        console.error(
          `${kind} c=${connections}: ${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms`,
        );
      }
    }
  } finally {
    await stop(gw.proc);
    await stop(serving.proc);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function ocrPart(): Promise<{ rows: Row[]; raw: { batch: number; rowsPerSec: number }[] }> {
  const measured = await spawn('raw-ocr', [String(Math.max(2, durationS / 2))]);
  await stop(measured.proc);
  const raw = measured.msg.raw;
  const best = raw.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  console.error(
    `raw onnxruntime: ${raw.map((r) => `b${r.batch} ${r.rowsPerSec.toFixed(1)} rows/s`).join(', ')}`,
  );
  const { body, headerLength } = ocrRequest();
  const headers = {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(headerLength),
  };
  const rows: Row[] = [];
  for (const kind of ['bare-ocr', 'express-ocr', 'serving-ocr', 'serving-ocr-thread'] as const) {
    const { proc, msg } = await spawn(kind, kind.startsWith('serving') ? [String(best.batch)] : []);
    rows.push(
      ...(await load(
        {
          part: 'ocr',
          kind,
          url: `http://127.0.0.1:${msg.port}/v2/models/ocr/infer`,
          body,
          headers,
          pids: { [kind]: proc.pid! },
          generator: ocrClient === 'autocannon' ? autocannon : closedLoop,
        },
        ocrConns,
      )),
    );
    await stop(proc);
  }
  return { rows, raw };
}

const cpuText = (r: Row) =>
  Object.entries(r.cpuUs ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

const fmt = (r: Row) =>
  `${r.kind.padEnd(12)} ${String(r.connections).padStart(5)} ${Math.round(r.rps).toString().padStart(8)} ` +
  `${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} ${String(r.errors).padStart(6)}`;

async function main(): Promise<void> {
  const figures: Record<string, unknown> = { cores: cpus().length, loadBefore: loadavg()[0] };
  const get = (rows: Row[], kind: string, c: number) =>
    rows.find((r) => r.kind === kind && r.connections === c)!;
  const lines: string[] = [];
  if (parts.includes('mlp')) {
    const cells = await mlpPart();
    const rows = medianRows(cells);
    figures.mlp = rows;
    if (mlpRounds > 1) figures.mlpCells = cells;
    lines.push(
      `\nsmall model: ${MLP_SIZES.join('-')} MLP, KServe v2 JSON, ${durationS} s per cell, ` +
        `${mlpThreads} onnxruntime thread(s) in express and serving, ${WARM_UP_S} s warm-up each` +
        (mlpRounds > 1 ? `; median of ${mlpRounds} rounds, contenders taking turns` : ''),
    );
    lines.push(
      'server        conns    req/s  p50 ms  p99 ms errors  CPU µs/req',
      ...rows.map((r) => `${fmt(r)}  ${cpuText(r)}`),
    );
    const others = MLP_KINDS.filter((k) => k !== 'bare');
    lines.push(
      `against bare node:http (req/s${mlpRounds > 1 ? ", each round's ratio, median [min-max]" : ''}): ` +
        `${others.join(', ')}; gateway p50 - serving-thread p50 (ms):`,
    );
    const shown = (x: { median: number; min: number; max: number }) =>
      mlpRounds > 1
        ? `${x.median.toFixed(2)} [${x.min.toFixed(2)}-${x.max.toFixed(2)}]`
        : x.median.toFixed(2);
    for (const c of mlpConns) {
      const s = get(rows, 'serving-thread', c);
      lines.push(
        `  c=${c}: ${others.map((k) => shown(ratioOf(cells, k, 'bare', c))).join(', ')}; ` +
          `${(get(rows, 'gateway', c).p50 - s.p50).toFixed(1)}`,
      );
    }
    lines.push(
      'hosting against process: req/s of thread, inline; CPU µs/req process → thread → inline:',
    );
    for (const c of mlpConns) {
      const p = get(rows, 'serving', c);
      const t = get(rows, 'serving-thread', c);
      const i = get(rows, 'serving-inline', c);
      lines.push(
        `  c=${c}: ${shown(ratioOf(cells, 'serving-thread', 'serving', c))}, ` +
          `${shown(ratioOf(cells, 'serving-inline', 'serving', c))}; ` +
          `${p.cpuUs?.serving} → ${t.cpuUs?.['serving-thread']} → ${i.cpuUs?.['serving-inline']}`,
      );
    }
  }
  if (parts.includes('replicas')) {
    const rows = await replicasPart();
    figures.replicas = rows;
    lines.push(`\nsmall model through the gateway, by serving replicas, ${durationS} s per cell`);
    lines.push(
      'replicas      conns    req/s  p50 ms  p99 ms errors  CPU µs/req',
      ...rows.map((r) => `${fmt(r)}  ${cpuText(r)}`),
    );
    const one = rows[0]!.rps;
    lines.push(
      `against 1 replica: ${rows.map((r) => `${r.kind} ${(r.rps / one).toFixed(2)}`).join(', ')}`,
    );
  }
  if (parts.includes('grpc')) {
    const rows = await grpcPart();
    figures.grpc = rows;
    lines.push(`\nsmall model through the gateway, by protocol, ${durationS} s per cell`);
    lines.push(
      'protocol      conns    req/s  p50 ms  p99 ms errors  CPU µs/req: client gateway serving',
      ...rows.map(
        (r) =>
          fmt(r) +
          (r.cpu
            ? `  ${String(r.cpu.client).padStart(17)} ${String(r.cpu.gateway).padStart(7)} ${String(r.cpu.serving).padStart(7)}`
            : ''),
      ),
    );
    lines.push('against HTTP JSON (req/s): http-binary, grpc-raw, grpc-typed:');
    for (const c of mlpConns) {
      const base = get(rows, 'http-json', c).rps;
      lines.push(
        `  c=${c}: ` +
          ['http-binary', 'grpc-raw', 'grpc-typed']
            .map((k) => (get(rows, k, c).rps / base).toFixed(2))
            .join(', '),
      );
    }
  }
  if (parts.includes('ocr')) {
    const { rows, raw } = await ocrPart();
    figures.ocr = { rows, raw, shape: OCR_SHAPE };
    const best = raw.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
    lines.push(
      `\ncompute-bound: PaddleOCR PP-OCRv4 rec ${OCR_SHAPE.join('x')}, KServe v2 binary, ${durationS} s per cell, ` +
        `${ocrThreads} onnxruntime thread(s) in every contender, ${WARM_UP_S} s warm-up each, ` +
        `load from ${ocrClient}`,
    );
    lines.push(
      `raw onnxruntime in-process: ${raw.map((r) => `batch ${r.batch} ${r.rowsPerSec.toFixed(1)}`).join(', ')} rows/s`,
    );
    lines.push(
      'server        conns    req/s  p50 ms  p99 ms errors  CPU µs/req',
      ...rows.map((r) => `${fmt(r)}  ${cpuText(r)}`),
    );
    lines.push(`serving/raw (batch ${best.batch}), serving/express, serving-thread/raw:`);
    for (const c of ocrConns) {
      const s = get(rows, 'serving-ocr', c);
      const t = get(rows, 'serving-ocr-thread', c);
      lines.push(
        `  c=${c}: ${(s.rps / best.rowsPerSec).toFixed(2)}, ${(s.rps / get(rows, 'express-ocr', c).rps).toFixed(2)}, ` +
          `${(t.rps / best.rowsPerSec).toFixed(2)}`,
      );
    }
    const one = raw.find((r) => r.batch === 1);
    if (one && ocrConns.includes(1)) {
      const rawMs = 1000 / one.rowsPerSec;
      lines.push(
        `concurrency 1, p50 above raw batch 1 (${rawMs.toFixed(1)} ms a row): ` +
          ['express-ocr', 'serving-ocr', 'serving-ocr-thread']
            .map((k) => `${k} ${(get(rows, k, 1).p50 - rawMs).toFixed(1)} ms`)
            .join(', ') +
          `; the transport alone (bare-ocr p50): ${get(rows, 'bare-ocr', 1).p50.toFixed(1)} ms`,
      );
    }
  }
  figures.loadAfter = loadavg()[0];
  lines.push(
    `\nmachine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end; ` +
      `serving and the gateway ran from ${BUILD === 'dist' ? 'dist/ (compiled)' : 'source (tsx)'}`,
  );
  console.log(lines.join('\n'));
  if (env.BENCH_OUT) writeFileSync(env.BENCH_OUT, JSON.stringify(figures, null, 2));
}

const role = process.argv[2] as Kind | undefined;
if (role && (KINDS as readonly string[]).includes(role)) await child(role, process.argv.slice(3));
else await main();
