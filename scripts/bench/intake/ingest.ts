// The intake's ingest flow in one process, without HTTP: parse + statistics + shards to Redis.
// Usage: npx tsx scripts/bench/intake/ingest.ts [--mb 50] [--features 100] [--runs 1]
// Meant for profiling (`node --import tsx --cpu-prof scripts/bench/intake/ingest.ts`) and for
// quick CPU-per-MB figures; the end-to-end number comes from upload.ts.
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createLogger,
  createRedis,
  DatasetStore,
  EventLog,
  Keys,
  RedisServer,
  freePort,
} from '../../../shared/index.js';
import { ingestUpload } from '../../../services/data-intake/ingest-upload.js';
import { uploadOptions } from '../../../services/data-intake/upload-options.js';
import { generateLibsvm } from './generate.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '50' },
    features: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    /** An existing libsvm file to ingest instead of generating one (kept afterwards). */
    file: { type: 'string' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-ingest-'));
const file = args.file ?? join(dir, 'bench.libsvm');

async function main(): Promise<void> {
  const rows = args.file
    ? await countLines(file)
    : await generateLibsvm(file, Number(args.mb) * 1024 * 1024, Number(args.features));
  const bytes = statSync(file).size;
  const redis = new RedisServer({ dir: join(dir, 'redis'), port: await freePort() });
  await redis.start();
  const log = createLogger('bench', 'warn');
  const client = createRedis(redis.url, log, { name: 'bench' });
  try {
    const keys = new Keys('bench');
    const deps = {
      datasets: new DatasetStore(client, keys),
      events: new EventLog(client, keys),
      log,
    };
    console.log(
      `file ${(bytes / 1e6).toFixed(1)} MB, ${rows} rows | load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
    for (let run = 0; run < Number(args.runs); run++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      // force: every run stores its rows, though the file is the same as the last run's
      const { meta } = await ingestUpload(
        deps,
        'bench',
        createReadStream(file, { highWaterMark: 1 << 16 }),
        uploadOptions(new URLSearchParams('filename=bench.libsvm&force=true'), 'text/x-libsvm'),
        {
          tmpDir: dir,
          memoryLimitBytes: 64 * 1024 ** 2,
          shardBytes: 1024 ** 2,
        },
      );
      const s = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      if (meta.count !== rows) throw new Error(`stored ${meta.count} rows of ${rows}`);
      console.log(
        `ingest wall ${(bytes / 1e6 / s).toFixed(1)} MB/s ${s.toFixed(2)} s | process cpu ${cpu.toFixed(2)} s (${(bytes / 1e6 / cpu).toFixed(1)} MB per cpu-s) | peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
      );
    }
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) n++;
  }
  return n;
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
