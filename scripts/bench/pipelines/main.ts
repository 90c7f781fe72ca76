/**
 * Pipeline latency: two equal branches against one branch, against both models called
 * concurrently by hand, and against the same two models chained (the sequential case), all
 * on one serving app in one run, rounds interleaved so that other load hits every contender.
 *
 *   node --import tsx scripts/bench/pipelines/main.ts   env: BENCH_ROUNDS=40  BENCH_SIZE=512
 */
import { cpus, loadavg } from 'node:os';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { seededFloats, slowModel } from '../../../test/helpers/onnx-models.js';
import { startServing, v2Body } from '../../../test/services/serving/harness.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 40);
const size = Number(process.env.BENCH_SIZE ?? 512);
const branch = (id: string, model: string, from: string) => ({
  id,
  model,
  inputs: { x: from },
});
const pipelines = [
  {
    name: 'parallel',
    nodes: [branch('left', 'slowA', '$request.x'), branch('right', 'slowB', '$request.x')],
    outputs: { left: 'left.y', right: 'right.y' },
  },
  {
    name: 'serial',
    nodes: [branch('left', 'slowA', '$request.x'), branch('right', 'slowB', 'left.y')],
    outputs: { y: 'right.y' },
  },
];

const slow = slowModel({ size, depth: 4 });
const source = new InMemoryModelSource()
  .put('slowA', 1, slow, { production: true })
  .put('slowB', 1, slow, { production: true });
const serving = await startServing(source, { PIPELINES: JSON.stringify(pipelines) });
const body = v2Body('x', [1, size], Array.from(seededFloats(size, 9)));
const infer = async (model: string) => {
  const r = await serving.post(`/v2/models/${model}/infer`, body);
  if (r.status !== 200) throw new Error(`${model}: ${r.status} ${JSON.stringify(r.body)}`);
};
const contenders: Record<string, () => Promise<unknown>> = {
  'one branch': () => infer('slowA'),
  'two branches (pipeline)': () => infer('parallel'),
  'both models by hand, concurrently': () => Promise.all([infer('slowA'), infer('slowB')]),
  'two models chained (pipeline)': () => infer('serial'),
};
const times = new Map(Object.keys(contenders).map((k) => [k, [] as number[]]));
try {
  for (let i = 0; i < 5; i++) for (const run of Object.values(contenders)) await run();
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(contenders)) {
      const t = performance.now();
      await run();
      times.get(name)!.push(performance.now() - t);
    }
  }
} finally {
  await serving.stop();
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pick = (xs: number[], q: number) =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const base = times.get('one branch')!;
console.log(
  `pipelines: ${rounds} rounds, model ${size}x${size} x4 layers, ${cpus().length} cores, ` +
    `load average ${loadavg()[0]!.toFixed(1)}`,
);
console.log('contender                            min ms   p50 ms   p50 / one branch');
for (const [name, xs] of times) {
  console.log(
    `${name.padEnd(36)} ${Math.min(...xs)
      .toFixed(1)
      .padStart(6)}   ${pick(xs, 0.5).toFixed(1).padStart(6)}   ` +
      `${(pick(xs, 0.5) / pick(base, 0.5)).toFixed(2)}x`,
  );
}
