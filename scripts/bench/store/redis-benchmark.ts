import { spawnSync } from 'node:child_process';

/** Runs redis-benchmark in CSV mode and answers requests/s per test name (upper case). */
export function redisBenchmark(port: number, args: string[]): Record<string, number> {
  const r = spawnSync(
    '/usr/bin/redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '--csv', ...args],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  const out: Record<string, number> = {};
  // Lines look like: "SET","123.45","0.1",... after a header line of column names.
  for (const line of r.stdout.split('\n')) {
    const m = /^"([A-Z_ ]+)","([\d.]+)"/.exec(line.trim());
    if (m) out[m[1]!.split(' ')[0]!] = Number(m[2]);
  }
  return out;
}
