/**
 * Serving benchmark: a 784-128-10 MLP over KServe v2 JSON at several concurrencies,
 * (a) bare node:http with a fixed body of the same size, (b) plain express + session.run
 * per request, (c) swarmml serving. One run, one process tree, ratios printed.
 *
 *   node --import tsx scripts/bench/serving/main.ts       (BENCH_DURATION_S=5, BENCH_CONNECTIONS=1,16,64)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import * as ort from 'onnxruntime-node';
import { mlpModel, seededFloats } from '../../../test/helpers/onnx-models.js';
import { startServer, type ServerKind } from './servers.js';

const KINDS: ServerKind[] = ['bare', 'express', 'serving'];
const durationS = Number(process.env.BENCH_DURATION_S ?? 5);
const connectionsList = (process.env.BENCH_CONNECTIONS ?? '1,16,64').split(',').map(Number);

async function sampleBodies(): Promise<{ request: string; response: string }> {
  const x = seededFloats(784, 1, 1);
  const session = await ort.InferenceSession.create(mlpModel());
  const probs = (await session.run({ x: new ort.Tensor('float32', x, [1, 784]) })).probs!;
  await session.release();
  return {
    request: JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 784], datatype: 'FP32', data: Array.from(x) }],
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

/** Child role: start one server, report its port, live until the parent goes. */
async function child(kind: ServerKind): Promise<void> {
  const { response } = await sampleBodies();
  const port = await startServer(kind, response);
  process.send?.({ port });
  process.on('disconnect', () => process.exit(0));
}

function spawnServer(kind: ServerKind): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(fileURLToPath(import.meta.url), [kind], {
    execArgv: process.execArgv,
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, port: (m as { port: number }).port }));
    proc.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
}

interface Row {
  kind: ServerKind;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function main(): Promise<void> {
  const { request } = await sampleBodies();
  const rows: Row[] = [];
  for (const kind of KINDS) {
    const { proc, port } = await spawnServer(kind);
    const url = `http://127.0.0.1:${port}/v2/models/mlp/infer`;
    const opts = {
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: request,
    };
    await autocannon({ ...opts, connections: 16, duration: 1 }); // warm-up
    for (const connections of connectionsList) {
      const r = await autocannon({ ...opts, connections, duration: durationS });
      rows.push({
        kind,
        connections,
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.non2xx + r.errors + r.timeouts,
      });
      console.error(`${kind} c=${connections}: ${Math.round(r.requests.average)} req/s`);
    }
    proc.disconnect();
    await new Promise((r) => proc.once('exit', r));
  }
  console.log(
    `\nserving benchmark: 784-128-10 MLP, KServe v2 JSON (${request.length} B request), ${durationS} s per cell`,
  );
  console.log(
    `machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} at the end\n`,
  );
  console.log('server    conns    req/s   p50 ms   p99 ms  errors');
  for (const r of rows) {
    console.log(
      `${r.kind.padEnd(8)} ${String(r.connections).padStart(6)} ${Math.round(r.rps).toString().padStart(8)} ` +
        `${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(7)}`,
    );
  }
  console.log('\nratios (req/s): serving/bare, serving/express');
  for (const c of connectionsList) {
    const get = (k: ServerKind) => rows.find((r) => r.kind === k && r.connections === c)!.rps;
    console.log(
      `  c=${c}: ${(get('serving') / get('bare')).toFixed(2)}, ${(get('serving') / get('express')).toFixed(2)}`,
    );
  }
}

const role = process.argv[2] as ServerKind | undefined;
if (role && KINDS.includes(role)) await child(role);
else await main();
