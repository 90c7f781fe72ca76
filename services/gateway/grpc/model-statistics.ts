/**
 * ModelStatistics over a fleet: every replica counts only what it served, so the gateway asks
 * them all (`GET /v2/models[/<m>[/versions/<v>]]/stats`) and sums per model and version.
 */
import { status } from '@grpc/grpc-js';
import type { ReplicaHttp } from './replica-http.js';
import { GrpcStatusError } from './status.js';

interface Duration {
  count: number;
  ns: number;
}

type Phases = 'compute_input' | 'compute_infer' | 'compute_output';
const PHASES: Phases[] = ['compute_input', 'compute_infer', 'compute_output'];
const INFER: (Phases | 'success' | 'fail' | 'queue')[] = ['success', 'fail', 'queue', ...PHASES];

export interface ModelStatsEntry {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<(typeof INFER)[number], Duration>;
  batch_stats: ({ batch_size: number } & Record<Phases, Duration>)[];
}

const sum = (a: Duration | undefined, b: Duration | undefined): Duration => ({
  count: (a?.count ?? 0) + (b?.count ?? 0),
  ns: (a?.ns ?? 0) + (b?.ns ?? 0),
});

/** Adds `b` into a copy of `a` (same model and version). */
export function addStats(a: ModelStatsEntry, b: ModelStatsEntry): ModelStatsEntry {
  const inference_stats = {} as ModelStatsEntry['inference_stats'];
  for (const k of INFER) inference_stats[k] = sum(a.inference_stats[k], b.inference_stats[k]);
  const batches = new Map(a.batch_stats.map((s) => [s.batch_size, s]));
  for (const s of b.batch_stats) {
    const had = batches.get(s.batch_size);
    if (!had) batches.set(s.batch_size, s);
    else {
      const merged = { batch_size: s.batch_size } as ModelStatsEntry['batch_stats'][number];
      for (const k of PHASES) merged[k] = sum(had[k], s[k]);
      batches.set(s.batch_size, merged);
    }
  }
  return {
    name: a.name,
    version: a.version,
    last_inference: Math.max(a.last_inference, b.last_inference),
    inference_count: a.inference_count + b.inference_count,
    execution_count: a.execution_count + b.execution_count,
    inference_stats,
    batch_stats: [...batches.values()].sort((x, y) => x.batch_size - y.batch_size),
  };
}

export async function fleetStatistics(
  replicas: ReplicaHttp,
  name: string,
  version: string,
): Promise<ModelStatsEntry[]> {
  if (!name && version) throw new GrpcStatusError(status.INVALID_ARGUMENT, 'version without name');
  const path =
    '/v2/models' +
    (name ? `/${encodeURIComponent(name)}` : '') +
    (version ? `/versions/${encodeURIComponent(version)}` : '') +
    '/stats';
  const answers = await replicas.everyReplica({ method: 'GET', path });
  if (answers.length === 0) {
    throw new GrpcStatusError(status.UNAVAILABLE, 'no serving replica is reachable');
  }
  const ok = answers.filter((a) => a.status === 200);
  // A model that one replica does not serve is still the fleet's if another one does.
  if (ok.length === 0) replicas.parse(answers[0]!);
  const merged = new Map<string, ModelStatsEntry>();
  for (const a of ok) {
    const { model_stats } = replicas.parse<{ model_stats?: ModelStatsEntry[] }>(a);
    for (const e of model_stats ?? []) {
      const key = `${e.name}\0${e.version}`;
      const had = merged.get(key);
      merged.set(key, had ? addStats(had, e) : e);
    }
  }
  return [...merged.values()];
}
