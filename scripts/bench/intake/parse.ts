// Parser-only throughput on a generated libsvm file (dense-ish, 100 features by default).
// Usage: npx tsx scripts/bench/intake/parse.ts [--mb 200] [--features 100] [--memory-mb 64]
// Prints input MB/s and rows/s for: a raw read of the file (the disk/page-cache limit),
// a naive split/parseFloat parser (what one would write instead), and parseDataset
// (first pass + dense batches), plus peak RSS. The file goes to os.tmpdir() and is deleted.
import { createReadStream, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generateLibsvm } from './generate.js';
import { parseDataset } from '../../../services/data-intake/parse/index.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    features: { type: 'string', default: '100' },
    'memory-mb': { type: 'string', default: '64' },
  },
});
const targetBytes = Number(args.mb) * 1024 * 1024;
const features = Number(args.features);
const file = join(tmpdir(), `swarmml-bench-${process.pid}.libsvm`);

const generate = (): Promise<number> => generateLibsvm(file, targetBytes, features);

async function timed(name: string, bytes: number, rows: number, fn: () => Promise<void>) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  // CPU seconds of this process: on a loaded shared machine wall time mostly measures the others.
  const cpu = (c.user + c.system) / 1e6;
  console.log(
    `${name.padEnd(34)} wall ${(bytes / 1e6 / s).toFixed(1).padStart(6)} MB/s ${(rows / s / 1e3).toFixed(0).padStart(5)}k rows/s ${s.toFixed(2).padStart(6)} s | cpu ${(bytes / 1e6 / cpu).toFixed(1).padStart(6)} MB/s ${cpu.toFixed(2).padStart(6)} s`,
  );
}

async function main(): Promise<void> {
  const rows = await generate();
  const bytes = statSync(file).size;
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  console.log(
    `file: ${(bytes / 1e6).toFixed(1)} MB, ${rows} rows, ${features} features (90% present)`,
  );
  await timed('raw read (fs stream)', bytes, rows, async () => {
    for await (const _ of createReadStream(file, { highWaterMark: 1 << 20 }));
  });
  await timed('naive readline+split+parseFloat', bytes, rows, async () => {
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let sum = 0;
    for await (const line of rl) {
      const toks = line.split(' ');
      sum += parseFloat(toks[0]!);
      for (let i = 1; i < toks.length; i++) {
        const [k, v] = toks[i]!.split(':');
        sum += Number(k) + parseFloat(v!);
      }
    }
    if (Number.isNaN(sum)) throw new Error('unreachable');
  });
  const rss0 = process.memoryUsage().rss;
  let firstPass = 0;
  await timed('parseDataset (both passes)', bytes, rows, async () => {
    const t0 = performance.now();
    const parsed = await parseDataset(createReadStream(file, { highWaterMark: 1 << 20 }), {
      memoryLimitBytes: Number(args['memory-mb']) * 1024 * 1024,
    });
    firstPass = (performance.now() - t0) / 1000;
    let n = 0;
    for await (const b of parsed.batches()) n += b.rows;
    if (n !== rows || parsed.info.features !== features) throw new Error(`got ${n} rows`);
  });
  console.log(`  first pass (parse + spill): ${firstPass.toFixed(2)} s`);
  const peak = process.resourceUsage().maxRSS / 1024;
  console.log(
    `peak RSS ${peak.toFixed(0)} MB (rss before parse ${(rss0 / 2 ** 20).toFixed(0)} MB)`,
  );
}

try {
  await main();
} finally {
  rmSync(file, { force: true });
}
