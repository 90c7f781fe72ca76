/**
 * The gRPC load generator of the serving benchmark: `connections` ModelInfer calls kept in
 * flight on one @grpc/grpc-js channel (as tritonclient and perf_analyzer do) for a fixed time,
 * with every call's latency recorded. autocannon has no gRPC, so this stands in for it.
 */
import { inferenceClient } from '../../../test/helpers/grpc-client.js';

export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

export async function grpcLoad(opts: {
  address: string;
  token: string;
  request: unknown;
  connections: number;
  durationS: number;
}): Promise<LoadFigures> {
  const client = inferenceClient(opts.address);
  try {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + opts.durationS * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await client.call('ModelInfer', opts.request, opts.token);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: opts.connections }, worker));
    const elapsedS = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      rps: latencies.length / elapsedS,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      errors,
    };
  } finally {
    client.close();
  }
}
