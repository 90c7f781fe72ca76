/**
 * Session start latency in local mode: from `POST /api/v1/sessions` to the trainer's first
 * event (`session.started`), p50 and p99 over N sessions back to back and N/2 a second apart,
 * against the built platform (`npm run build` first).
 * Run: node --import tsx scripts/bench/sessions/main.ts [N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../../shared/index.js';

const N = Number(process.argv[2] ?? 50);
const home = mkdtempSync(join(tmpdir(), 'swarmml-bench-sessions-'));
const port = await freePort();
const up = spawn(process.execPath, ['dist/cli/main.js', 'up', '--no-demo'], {
  env: {
    ...process.env,
    SWARMML_HOME: home,
    SWARMML_PORT: String(port),
    SWARMML_REDIS_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    MAX_SESSIONS: '4',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
up.stdout.on('data', (d: Buffer) => (out += d.toString()));
const url = `http://127.0.0.1:${port}`;
try {
  const t0 = Date.now();
  while (!out.includes('running; press Ctrl-C')) {
    if (Date.now() - t0 > 60_000) throw new Error(`local mode did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
  const auth = { authorization: `Bearer ${token}` };
  const push = await fetch(`${url}/api/v1/datasets/digits?format=csv&header=false`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: readFileSync('test/fixtures/digits.csv.gz'),
  });
  if (!push.ok) throw new Error(`push failed: ${push.status} ${await push.text()}`);

  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/v1/ws`, { headers: auth });
  await new Promise((r) => ws.once('open', r));
  const started = new Map<string, number>();
  const finished = new Map<string, () => void>();
  ws.on('message', (raw: Buffer) => {
    const m = JSON.parse(raw.toString()) as {
      op: string;
      event?: { kind: string; sessionId?: string };
    };
    if (m.op !== 'event' || !m.event?.sessionId) return;
    if (m.event.kind === 'session.started') started.set(m.event.sessionId, performance.now());
    if (m.event.kind === 'session.finished') finished.get(m.event.sessionId)?.();
  });
  ws.send(JSON.stringify({ op: 'subscribe', id: 's', topics: ['sessions'] }));
  await new Promise((r) => setTimeout(r, 200));

  /** One session after another, `gapMs` after each ends; POST → first trainer event, in ms. */
  const measure = async (n: number, gapMs: number): Promise<number[]> => {
    const latencies: number[] = [];
    for (let i = 0; i < n; i++) {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const t = performance.now();
      const res = await fetch(`${url}/api/v1/sessions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'bench',
          dataset: 'digits',
          trainer: 'softmax',
          params: { epochs: 1 },
        }),
      });
      const { id } = (await res.json()) as { id: string };
      await new Promise<void>((resolve) => finished.set(id, resolve));
      const s = started.get(id);
      if (s !== undefined) latencies.push(s - t);
    }
    return latencies.sort((a, b) => a - b);
  };
  const report = (what: string, latencies: number[]) => {
    const q = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    console.log(
      `  ${what.padEnd(34)} p50 ${q(0.5).toFixed(0).padStart(4)} ms   p99 ${q(0.99).toFixed(0).padStart(4)} ms   min ${latencies[0]!.toFixed(0).padStart(4)} ms`,
    );
  };
  // Back to back, the warm trainer is always still loading when the next session comes (the
  // worst case); with a second between sessions it is ready, as it mostly is in use.
  const backToBack = await measure(N, 0);
  const spaced = await measure(Math.ceil(N / 2), 1_000);
  ws.close();
  console.log(
    `session start latency, POST → first trainer event (local mode, process backend; goal p50 < 300 ms):`,
  );
  report(`${backToBack.length} sessions back to back`, backToBack);
  report(`${spaced.length} sessions 1 s apart`, spaced);
} finally {
  up.kill('SIGTERM');
  await new Promise((r) => up.once('exit', r));
  rmSync(home, { recursive: true, force: true });
}
