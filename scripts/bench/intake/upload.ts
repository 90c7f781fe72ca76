// End-to-end dataset upload and read-back through the gateway, services as child processes.
// Usage: npx tsx scripts/bench/intake/upload.ts [--mb 200] [--features 100] [--page-rows 100000]
//        [--profile-dir DIR] (writes a V8 CPU profile of the intake process there)
// Starts a redis-server (AOF everysec), the data-intake service and the gateway as processes,
// pushes a generated libsvm file (dense-ish: 90% of features present) through
// POST /api/v1/datasets/{name}, then reads the version back with the binary row reader.
// Prints MB/s and rows/s of the upload, peak RSS of the intake process, read-back MB/s, and
// redis-benchmark GET of values the size of one shard on the same server in the same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createReadStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateLibsvm } from './generate.js';
import { RedisServer } from '../../../shared/runtime/redis-server.js';
import { freePort } from '../../../shared/runtime/net.js';
import { serviceCommand } from '../../../shared/runtime/entry.js';
import { redisBenchmark } from '../store/redis-benchmark.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    features: { type: 'string', default: '100' },
    'page-rows': { type: 'string', default: '100000' },
    'profile-dir': { type: 'string' },
  },
});
const targetBytes = Number(args.mb) * 1024 * 1024;
const features = Number(args.features);
const pageRows = Number(args['page-rows']);
const MB = 1e6;
const dir = mkdtempSync(join(tmpdir(), 'swarmml-bench-upload-'));
const file = join(dir, 'bench.libsvm');

const generate = (): Promise<number> => generateLibsvm(file, targetBytes, features);

/** Peak and current resident set (VmHWM, VmRSS) and CPU seconds of a process, from /proc. */
function procStats(pid: number): { peakMb: number; rssMb: number; cpuS: number; sysS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return {
    peakMb: hwm / 1024,
    rssMb: rss / 1024,
    cpuS: ticks / 100,
    sysS: Number(fields[12]) / 100,
  };
}

/** CPU seconds of a process's main thread and of its other threads (GC helpers, libuv pool). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : 'others';
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

function startService(
  name: string,
  env: Record<string, string>,
  nodeFlags: string[] = [],
): ChildProcess {
  const { command, args: argv } = serviceCommand(name);
  const child = spawn(command, [...nodeFlags, ...argv], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited (code ${code}, signal ${signal})`);
  });
  return child;
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after 60 s`);
}

function push(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'text/x-libsvm',
        'content-length': statSync(file).size,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req);
  });
}

/** Reads a range as the binary row reader sends it; answers the bytes received. */
function readRange(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`rows answered ${res.statusCode}`));
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

let stopping = false;

async function main(): Promise<void> {
  const t0 = performance.now();
  const rows = await generate();
  const bytes = statSync(file).size;
  console.log(
    `file: ${(bytes / MB).toFixed(1)} MB, ${rows} rows, ${features} features (90% present), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const redisPort = await freePort();
  const redis = new RedisServer({
    dir: join(dir, 'redis'),
    port: redisPort,
    appendfsync: 'everysec',
  });
  await redis.start();
  const token = randomBytes(16).toString('hex');
  const [intakePort, gatewayPort] = [await freePort(), await freePort()];
  const common = {
    REDIS_URL: redis.url,
    SWARMML_PREFIX: 'bench',
    UPLOAD_LIMIT_BYTES: String(8 * 1024 ** 3),
  };
  const intake = startService(
    'data-intake',
    {
      ...common,
      PORT: String(intakePort),
      INTERNAL_TOKEN: token,
      TMP_DIR: dir,
    },
    args['profile-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${args['profile-dir']}`] : [],
  );
  const gateway = startService('gateway', {
    ...common,
    PORT: String(gatewayPort),
    SWARMML_GRPC_PORT: '0',
    ADMIN_TOKEN: token,
    INTAKE_URL: `http://127.0.0.1:${intakePort}`,
  });
  const children = [intake, gateway];
  try {
    const gw = `http://127.0.0.1:${gatewayPort}`;
    await Promise.all([
      waitReady(`http://127.0.0.1:${intakePort}/healthz`),
      waitReady(`${gw}/healthz`),
    ]);
    console.log(
      `load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );

    const idle = procStats(intake.pid!);
    const threads0 = threadCpu(intake.pid!);
    const cpu0 = idle.cpuS;
    const gcpu0 = procStats(gateway.pid!).cpuS;
    const tp = performance.now();
    const res = await push(`${gw}/api/v1/datasets/bench?filename=bench.libsvm`, token);
    const ps = (performance.now() - tp) / 1000;
    if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.body}`);
    const meta = JSON.parse(res.body) as {
      count: number;
      bytes: number;
      shardCount: number;
      version: number;
    };
    if (meta.count !== rows) throw new Error(`stored ${meta.count} rows, generated ${rows}`);
    const st = procStats(intake.pid!);
    const threads = [...threadCpu(intake.pid!)]
      .map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const)
      .filter(([, s]) => s >= 0.05)
      .map(([name, s]) => `${name} ${s.toFixed(2)}`);
    const gcpu = procStats(gateway.pid!).cpuS - gcpu0;
    console.log(
      `upload     ${(bytes / MB / ps).toFixed(1).padStart(6)} MB/s  ${(rows / ps / 1e3).toFixed(0)}k rows/s  ${ps.toFixed(1)} s wall` +
        ` | intake cpu ${(st.cpuS - cpu0).toFixed(1)} s (${(st.sysS - idle.sysS).toFixed(1)} s of it system; ${(bytes / MB / (st.cpuS - cpu0)).toFixed(1)} MB per cpu-s), gateway cpu ${gcpu.toFixed(1)} s`,
    );
    console.log(`intake cpu by thread: ${threads.join(', ')}`);
    console.log(
      `intake peak RSS ${st.peakMb.toFixed(0)} MB (VmHWM, whole process; ${idle.rssMb.toFixed(0)} MB before the upload)`,
    );
    const shardBytes = Math.round(meta.bytes / meta.shardCount);
    console.log(
      `stored ${(meta.bytes / MB).toFixed(1)} MB in ${meta.shardCount} shards of ~${(shardBytes / 1024).toFixed(0)} KiB`,
    );

    // Read-back, paired with redis-benchmark GET of shard-sized values right after.
    const g0 = procStats(gateway.pid!).cpuS;
    const c0 = process.cpuUsage();
    const tr = performance.now();
    let got = 0;
    for (let start = 0; start < rows; start += pageRows) {
      got += await readRange(
        `${gw}/api/v1/datasets/bench/versions/${meta.version}/rows?start=${start}&count=${pageRows}`,
        token,
      );
    }
    const rs = (performance.now() - tr) / 1000;
    const readMbs = got / MB / rs;
    const gcpuRead = procStats(gateway.pid!).cpuS - g0;
    const c = process.cpuUsage(c0);
    console.log(
      `read-back  ${readMbs.toFixed(1).padStart(6)} MB/s  ${(rows / rs / 1e3).toFixed(0)}k rows/s  ${rs.toFixed(1)} s (pages of ${pageRows} rows)` +
        ` | gateway cpu ${gcpuRead.toFixed(2)} s (${(got / MB / gcpuRead).toFixed(0)} MB per cpu-s), client cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`,
    );
    const n = String(Math.max(100, Math.round((512 * 1024 * 1024) / shardBytes)));
    for (const c of ['1', '3']) {
      const r = redisBenchmark(redisPort, [
        '-t',
        'set,get',
        '-d',
        String(shardBytes),
        '-n',
        n,
        '-P',
        '1',
        '-c',
        c,
      ]);
      const getMbs = ((r.GET ?? NaN) * shardBytes) / MB;
      console.log(
        `redis-benchmark GET -d ${shardBytes} -c ${c}: ${getMbs.toFixed(1)} MB/s → read-back is ${((100 * readMbs) / getMbs).toFixed(0)}%`,
      );
    }
  } finally {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit')));
    await redis.stop();
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
