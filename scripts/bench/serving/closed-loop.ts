/**
 * A closed-loop load generator for large binary answers: `connections` loops, each sending
 * the next request once the previous answer has been read to the end, over an undici pool.
 *
 * Why not autocannon here: autocannon 9 appends every answer's body to a string
 * (`req.body += chunk`), whatever its type. PaddleOCR's answer is about 1 MB of float32, so
 * the load generator spent about 10 ms of CPU a request turning it into text, and at
 * concurrency 1 that showed as latency of every server (measured: 23% of a profile of
 * autocannon and express in one process). Here bodies are read and dropped as bytes.
 *
 * It returns the slice of autocannon's result that `main.ts` reads, so either can drive a part.
 */
import { createHistogram } from 'node:perf_hooks';
import type { Options, Result } from 'autocannon';
import { Pool } from 'undici';

export async function closedLoop(opts: Options): Promise<Result> {
  const url = new URL(opts.url);
  const pool = new Pool(url.origin, { connections: opts.connections, pipelining: 1 });
  const latency = createHistogram();
  let done = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + opts.duration * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      try {
        const r = await pool.request({
          path: url.pathname + url.search,
          method: (opts.method ?? 'GET') as 'POST',
          headers: opts.headers,
          body: opts.body,
        });
        for await (const chunk of r.body) void chunk;
        if (r.statusCode < 200 || r.statusCode > 299) non2xx++;
        latency.record(process.hrtime.bigint() - t0);
        done++;
      } catch {
        errors++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.connections }, loop));
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const ms = (ns: number) => (done ? ns / 1e6 : 0);
  return {
    requests: { total: done, average: done / seconds, p50: 0, p99: 0 },
    latency: {
      average: ms(latency.mean),
      p50: ms(latency.percentile(50)),
      p99: ms(latency.percentile(99)),
    },
    non2xx,
    errors,
    timeouts: 0,
  };
}
