/**
 * Per model and generation inference statistics in Triton's shape (`GET /v2/models/.../stats`,
 * the gRPC ModelStatistics RPC): request outcomes from the protocol routes, queue and compute
 * times from the dynamic batcher. Counters live in this process only; the gateway sums replicas.
 */
import type { RunStats } from '../hosting/dynamic-batcher.js';

export interface Duration {
  count: number;
  ns: number;
}

export interface BatchStats {
  batch_size: number;
  compute_input: Duration;
  compute_infer: Duration;
  compute_output: Duration;
}

/** One entry of Triton's `model_stats` array. */
export interface ModelStatsEntry {
  name: string;
  version: string;
  /** ms since the epoch; 0 before the first request */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: Duration;
    fail: Duration;
    queue: Duration;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
  };
  batch_stats: BatchStats[];
}

type Phase = 'compute_input' | 'compute_output';

const zero = (): Duration => ({ count: 0, ns: 0 });
const add = (d: Duration, count: number, ns: number) => {
  d.count += count;
  d.ns += ns;
};

function emptyEntry(name: string, version: string): ModelStatsEntry {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: {
      success: zero(),
      fail: zero(),
      queue: zero(),
      compute_input: zero(),
      compute_infer: zero(),
      compute_output: zero(),
    },
    batch_stats: [],
  };
}

export class ModelStats {
  /** model → version ('' for unversioned servables such as pipelines) → entry */
  private readonly models = new Map<string, Map<string, ModelStatsEntry>>();

  private entry(model: string, version: string): ModelStatsEntry {
    let versions = this.models.get(model);
    if (!versions) this.models.set(model, (versions = new Map<string, ModelStatsEntry>()));
    let e = versions.get(version);
    if (!e) versions.set(version, (e = emptyEntry(model, version)));
    return e;
  }

  /** A request answered (ok) or failed, `ns` from arrival to the answer. */
  request(model: string, version: string, ok: boolean, ns: number): void {
    const e = this.entry(model, version);
    add(ok ? e.inference_stats.success : e.inference_stats.fail, 1, ns);
    if (ok) e.last_inference = Date.now();
  }

  /** Decoding the request (compute_input) or encoding the answer (compute_output). */
  phase(model: string, version: string, phase: Phase, ns: number): void {
    add(this.entry(model, version).inference_stats[phase], 1, ns);
  }

  /**
   * One model run. As in Triton, every request in the batch is charged the whole run's
   * compute time, and the batch size's own line counts the run once.
   */
  run(model: string, version: string, r: RunStats): void {
    const e = this.entry(model, version);
    e.execution_count += 1;
    e.inference_count += r.rows;
    add(e.inference_stats.queue, r.requests, r.queueNs);
    add(e.inference_stats.compute_infer, r.requests, r.inferNs * r.requests);
    let b = e.batch_stats.find((s) => s.batch_size === r.rows);
    if (!b) {
      b = {
        batch_size: r.rows,
        compute_input: zero(),
        compute_infer: zero(),
        compute_output: zero(),
      };
      e.batch_stats.push(b);
      e.batch_stats.sort((x, y) => x.batch_size - y.batch_size);
    }
    add(b.compute_input, 1, r.inputNs);
    add(b.compute_infer, 1, r.inferNs);
    add(b.compute_output, 1, r.outputNs);
  }

  /**
   * The entries of a model: every version with figures, plus `loaded` versions that have
   * none yet (zeros), in version order; only `version` when given.
   */
  report(model: string, loaded: string[], version?: string): ModelStatsEntry[] {
    const known = this.models.get(model);
    const versions = new Set([...(known?.keys() ?? []), ...loaded]);
    if (version !== undefined) {
      versions.clear();
      versions.add(version);
    }
    return [...versions]
      .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
      .map((v) => structuredClone(known?.get(v) ?? emptyEntry(model, v)));
  }
}
