/**
 * Where a small request's microseconds go inside serving: each stage of the hot path timed on
 * its own, one request at a time, on the 784-128-10 MLP's one-row KServe v2 JSON body. The
 * HTTP hops are measured under load by main.ts (CPU µs per request of each server process).
 *
 *   node --import tsx scripts/bench/serving/stages.ts
 *   env: STAGES_MS=1500 (time per stage)
 */
import * as ort from 'onnxruntime-node';
import { checkJsonDepth, createLogger } from '../../../shared/index.js';
import { DynamicBatcher } from '../../../services/serving/hosting/dynamic-batcher.js';
import { ModelProcess } from '../../../services/serving/hosting/supervisor.js';
import { WorkerSpawner } from '../../../services/serving/hosting/worker-spawner.js';
import { decodeInfer, encodeInfer } from '../../../services/serving/protocols/kserve-codec.js';
import { mlpModel, seededFloats } from '../../../test/helpers/onnx-models.js';
import { treeCpuSeconds } from './cpu-meter.js';

const stageMs = Number(process.env.STAGES_MS ?? 1500);

/** µs per call: wall clock and CPU (this process's, or `cpuOf`'s process tree's). */
interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Median of 5 rounds, each running `fn` for a fifth of the stage time. CPU time is the figure
 * to read on a shared machine: wall time there includes waiting for a core.
 */
async function time(fn: () => unknown, cpuOf?: number): Promise<Timing> {
  const rounds: Timing[] = [];
  const cpuS = () =>
    cpuOf === undefined
      ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6
      : (treeCpuSeconds(cpuOf) ?? NaN);
  for (let r = 0; r < 5; r++) {
    const end = performance.now() + stageMs / 5;
    let n = 0;
    const c0 = cpuS();
    const t0 = performance.now();
    while (performance.now() < end) {
      const v = fn();
      if (v instanceof Promise) await v;
      n++;
    }
    rounds.push({ wall: ((performance.now() - t0) * 1000) / n, cpu: ((cpuS() - c0) * 1e6) / n });
  }
  const median = (k: keyof Timing) => rounds.map((t) => t[k]).sort((a, b) => a - b)[2]!;
  return { wall: median('wall'), cpu: median('cpu') };
}

async function main(): Promise<void> {
  const x = seededFloats(784, 1, 1);
  const text = JSON.stringify({
    inputs: [{ name: 'x', shape: [1, 784], datatype: 'FP32', data: Array.from(x) }],
  });
  const body = Buffer.from(text);
  const rows: [string, Timing][] = [];
  const add = (stage: string, us: Timing) => {
    rows.push([stage, us]);
    console.error(`${stage}: ${us.wall.toFixed(1)} µs wall, ${us.cpu.toFixed(1)} µs CPU`);
  };

  add('body to string + JSON.parse', await time(() => JSON.parse(body.toString('utf8'))));
  add('JSON depth check', await time(() => checkJsonDepth(body)));
  const decoded = decodeInfer(body, undefined);
  add('decodeInfer (parse, schema, typed array)', await time(() => decodeInfer(body, undefined)));

  const session = await ort.InferenceSession.create(mlpModel(), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = { x: new ort.Tensor('float32', x, [1, 784]) };
  add('onnxruntime session.run in-process', await time(() => session.run(feeds)));
  const out = await session.run(feeds);
  const outputs = {
    probs: { type: 'float32' as const, dims: [1, 10], data: out.probs!.data as Float32Array },
  };
  await session.release();

  const batcher = new DynamicBatcher(async (i) => i, {
    maxBatch: 64,
    maxDelayMs: 0,
    batching: true,
  });
  add(
    'dynamic batcher (submit to answer, no model)',
    await time(() => batcher.submit(decoded.inputs)),
  );

  const log = createLogger('stages', 'warn');
  const spawner = new WorkerSpawner({ keepSpare: false, log });
  const proc = new ModelProcess({
    group: 'mlp',
    session: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, spinning: false },
    log,
    spawner,
  });
  await proc.start();
  await proc.load('mlp', 1, mlpModel());
  for (let i = 0; i < 2_000; i++) await proc.run('mlp', 1, decoded.inputs);
  const call = () => proc.run('mlp', 1, decoded.inputs);
  add('model process call: serving side', await time(call));
  add('model process call: model process side', await time(call, proc.pid));
  await proc.close();
  await spawner.close();

  // Thread and inline hosting: both sides are in this process, so its CPU covers the whole call.
  for (const mode of ['thread', 'inline'] as const) {
    const local = new WorkerSpawner({ keepSpare: false, log, mode });
    const hosted = new ModelProcess({
      group: 'mlp',
      session: { graphOptimizationLevel: 'all', intraOpNumThreads: 1, spinning: false },
      log,
      spawner: local,
    });
    await hosted.start();
    await hosted.load('mlp', 1, mlpModel());
    for (let i = 0; i < 2_000; i++) await hosted.run('mlp', 1, decoded.inputs);
    add(`model ${mode} call: both sides`, await time(() => hosted.run('mlp', 1, decoded.inputs)));
    await hosted.close();
    await local.close();
  }

  add(
    'encodeInfer (JSON answer)',
    await time(() => encodeInfer({ model: 'mlp', gen: 1, request: decoded, outputs })),
  );

  const get = (s: string) => rows.find(([k]) => k.startsWith(s))![1];
  const num = (v: number) => v.toFixed(1).padStart(9);
  const line = (k: string, t: Timing) => `${k.padEnd(46)} ${num(t.wall)} ${num(t.cpu)}`;
  const lines = [`${'stage (µs per request)'.padEnd(46)}      wall       CPU`];
  for (const [k, v] of rows) lines.push(line(k, v));
  lines.push('derived:');
  const serving = get('model process call: serving');
  const ipc = {
    wall: serving.wall - get('onnxruntime').wall,
    cpu: serving.cpu + get('model process call: model').cpu - get('onnxruntime').cpu,
  };
  lines.push(line('  IPC, both sides (call minus session.run)', ipc));
  for (const mode of ['thread', 'inline']) {
    const call = get(`model ${mode} call`);
    lines.push(
      line(`  ${mode} hand-off, both sides (call minus run)`, {
        wall: call.wall - get('onnxruntime').wall,
        cpu: call.cpu - get('onnxruntime').cpu,
      }),
    );
  }
  console.log(lines.join('\n'));
}

await main();
