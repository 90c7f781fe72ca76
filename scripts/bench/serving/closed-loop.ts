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
 * The gRPC part's generator (grpc-load.ts) runs the same loop.
 */
import { createHistogram } from 'node:perf_hooks';
import type { Options, Result } from 'autocannon';
import { Pool } from 'undici';

/** What one closed-loop run measured; latencies in ms. */
export interface LoopFigures {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  mean: number;
  /** calls that answered, but not as hoped (an HTTP status outside 2xx) */
  refused: number;
  /** calls that threw */
  errors: number;
}

/**
 * `connections` loops, each making the next call once the last has finished, for `durationS`.
 * `call` resolves true for a good answer, false for a refused one; a throw counts as an error
 * and is not timed.
 */
export async function runClosedLoop(
  connections: number,
  durationS: number,
  call: () => Promise<boolean>,
): Promise<LoopFigures> {
  const latency = createHistogram();
  let requests = 0;
  let refused = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = process.hrtime.bigint();
      try {
        if (!(await call())) refused++;
        latency.record(process.hrtime.bigint() - t0);
        requests++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const ms = (ns: number) => (requests ? ns / 1e6 : 0);
  return {
    requests,
    seconds: (performance.now() - start) / 1000,
    p50: ms(latency.percentile(50)),
    p99: ms(latency.percentile(99)),
    mean: ms(latency.mean),
    refused,
    errors,
  };
}

/** HTTP through an undici pool, answers read to the end and dropped; autocannon's result shape. */
export async function closedLoop(opts: Options): Promise<Result> {
  const url = new URL(opts.url);
  const pool = new Pool(url.origin, { connections: opts.connections, pipelining: 1 });
  let f: LoopFigures;
  try {
    f = await runClosedLoop(opts.connections, opts.duration, async () => {
      const r = await pool.request({
        path: url.pathname + url.search,
        method: (opts.method ?? 'GET') as 'POST',
        headers: opts.headers,
        body: opts.body,
      });
      for await (const chunk of r.body) void chunk;
      return r.statusCode >= 200 && r.statusCode <= 299;
    });
  } finally {
    await pool.close();
  }
  return {
    requests: { total: f.requests, average: f.requests / f.seconds, p50: 0, p99: 0 },
    latency: { average: f.mean, p50: f.p50, p99: f.p99 },
    non2xx: f.refused,
    errors: f.errors,
    timeouts: 0,
  };
}
