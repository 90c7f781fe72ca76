/** Prometheus metrics of one serving process (its own registry, so tests can build several). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServingMetrics {
  registry: Registry;
  requests: Counter<'model' | 'protocol'>;
  errors: Counter<'model' | 'protocol' | 'status'>;
  latency: Histogram<'model' | 'protocol'>;
  batchSize: Histogram<'model'>;
  restarts: Counter<'group'>;
}

export function createMetrics(opts: {
  queueDepths: () => Iterable<[model: string, depth: number]>;
  defaults?: boolean;
}): ServingMetrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'swarmml_serving_' });
  const registers = [registry];
  new Gauge({
    name: 'swarmml_serving_queue_depth',
    help: 'requests waiting for a batch, per model',
    labelNames: ['model'],
    registers,
    collect() {
      this.reset();
      for (const [model, depth] of opts.queueDepths()) this.set({ model }, depth);
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'swarmml_serving_requests_total',
      help: 'inference requests',
      labelNames: ['model', 'protocol'],
      registers,
    }),
    errors: new Counter({
      name: 'swarmml_serving_errors_total',
      help: 'inference requests answered with an error',
      labelNames: ['model', 'protocol', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: 'swarmml_serving_request_duration_seconds',
      help: 'inference latency, request in to response out',
      labelNames: ['model', 'protocol'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    batchSize: new Histogram({
      name: 'swarmml_serving_batch_size',
      help: 'rows per model run',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    restarts: new Counter({
      name: 'swarmml_serving_process_restarts_total',
      help: 'model process crashes followed by a restart',
      labelNames: ['group'],
      registers,
    }),
  };
}
