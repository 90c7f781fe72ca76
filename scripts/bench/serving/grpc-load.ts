/**
 * The gRPC load generator of the serving benchmark: `connections` ModelInfer calls kept in
 * flight on one @grpc/grpc-js channel (as tritonclient and perf_analyzer do) for a fixed time,
 * with every call's latency recorded. autocannon has no gRPC, so this stands in for it.
 */
import { inferenceClient } from '../../../test/helpers/grpc-client.js';
import { runClosedLoop } from './closed-loop.js';

export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function grpcLoad(opts: {
  address: string;
  token: string;
  request: unknown;
  connections: number;
  durationS: number;
}): Promise<LoadFigures> {
  const client = inferenceClient(opts.address);
  try {
    const f = await runClosedLoop(opts.connections, opts.durationS, async () => {
      await client.call('ModelInfer', opts.request, opts.token);
      return true;
    });
    return { rps: f.requests / f.seconds, p50: f.p50, p99: f.p99, errors: f.errors };
  } finally {
    client.close();
  }
}
