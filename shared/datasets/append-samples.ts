import { z } from 'zod';
import { BadInput, NotFound } from '../errors.js';
import type { Logger } from '../runtime/logger.js';
import type { TabularBatch } from './rows.js';
import { splitInfo, validationMask, type SplitInfo } from './dataset-split.js';
import { checkName } from '../store/names.js';
import type { DatasetStore } from '../store/dataset-store.js';
import type { DatasetVersionMeta } from '../store/dataset-meta.js';
import type { EventLog } from '../store/event-log.js';
import type { Keys } from '../store/keys.js';
import { archiveDatasetVersion } from './dataset-event.js';
import { createStatsAccumulator, type DatasetStats } from './stats.js';
import { mergeStats } from './stats-merge.js';

/** Most rows one append call takes: an append is a live trickle, not an upload. */
export const MAX_APPEND_ROWS = 10_000;

/** One labelled sample; `null` features are missing values. */
export const SampleRow = z.object({
  features: z.array(z.number().nullable()).min(1),
  label: z.union([z.number(), z.string().min(1).max(200)]),
});
export type SampleRow = z.infer<typeof SampleRow>;

/** Body of `POST /api/v1/datasets/{name}/append`. */
export const AppendBody = z.object({
  rows: z.array(SampleRow).min(1).max(MAX_APPEND_ROWS),
  /** Only when the append creates the dataset. @defaultValue class when labels are text or integers */
  labelKind: z.enum(['class', 'regression']).optional(),
});
export type AppendBody = z.infer<typeof AppendBody>;

export interface AppendDeps {
  datasets: DatasetStore;
  events: EventLog;
  keys: Keys;
  log: Logger;
}

export type SampleAppender = (
  name: string,
  rows: SampleRow[],
  opts?: { labelKind?: 'class' | 'regression' },
) => Promise<DatasetVersionMeta>;

// Two appends to one dataset at once would each build on the same base and the later
// version would miss the earlier's rows; they queue per dataset within this process.
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/**
 * `appendSamples(name, rows)` for live sources and the append route: the rows become a new
 * version whose shard list is the latest version's plus one new shard (no copy), with
 * merged statistics and the split extended over the new row indices. A dataset that does
 * not exist yet is created. Archives `dataset.version` with `added` and `parent`.
 */
export function createSampleAppender(deps: AppendDeps): SampleAppender {
  return async (name, rows, opts = {}) => {
    checkName(name, 'dataset');
    if (rows.length === 0) throw new BadInput('append needs at least one row');
    if (rows.length > MAX_APPEND_ROWS) {
      throw new BadInput(`at most ${MAX_APPEND_ROWS} rows per append, got ${rows.length}`);
    }
    return serialised(deps.keys.dataset(name), () => append(deps, name, rows, opts.labelKind));
  };
}

async function latestVersion(
  datasets: DatasetStore,
  name: string,
): Promise<DatasetVersionMeta | null> {
  try {
    const info = await datasets.getDataset(name);
    return info.latest === null ? null : await datasets.getVersion(name, info.latest);
  } catch (err) {
    if (err instanceof NotFound) return null;
    throw err;
  }
}

async function append(
  deps: AppendDeps,
  name: string,
  rows: SampleRow[],
  wantKind: 'class' | 'regression' | undefined,
): Promise<DatasetVersionMeta> {
  const base = await latestVersion(deps.datasets, name);
  if (base && base.kind !== 'tabular') {
    throw new BadInput(`${name} holds images; samples can be appended to tabular datasets only`);
  }
  const dim = base?.features ?? rows[0]!.features.length;
  const labelKind = base?.labelKind ?? wantKind ?? guessLabelKind(rows);
  const labels = labelMapper(labelKind, base ? base.labelNames : initialNames(rows, labelKind));
  const batch = toBatch(rows, dim, labels.map);
  const newStats = createStatsAccumulator(labelKind);
  newStats.add(batch);
  const baseCount = base?.count ?? 0;
  const split = extendSplit(base, rows.length);
  const stats = base
    ? base.stats
      ? mergeStats(base.stats as DatasetStats, newStats.result())
      : undefined
    : newStats.result();

  const writer = base
    ? await deps.datasets.appendVersion(name, base.version)
    : deps.datasets.beginVersion(name);
  let meta: DatasetVersionMeta;
  try {
    await writer.writeShard(batch);
    meta = await writer.commit({
      kind: 'tabular',
      format: base?.format ?? 'samples',
      features: dim,
      ...(base?.featureNames ? { featureNames: base.featureNames } : {}),
      count: baseCount + rows.length,
      labelKind,
      ...(labels.names ? { labelNames: labels.names } : {}),
      ...(stats ? { stats } : {}),
      split,
      source: { append: true, added: rows.length },
    });
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
  try {
    await archiveDatasetVersion(deps.events, meta);
  } catch (err) {
    deps.log.error({ err, dataset: name, version: meta.version }, 'dataset.version not archived');
  }
  return meta;
}

function guessLabelKind(rows: SampleRow[]): 'class' | 'regression' {
  return rows.every((r) => typeof r.label === 'string' || Number.isInteger(r.label))
    ? 'class'
    : 'regression';
}

/** Class names of a new dataset, sorted (numbers numerically) so ids do not depend on row order. */
function initialNames(rows: SampleRow[], kind: 'class' | 'regression'): string[] | undefined {
  if (kind === 'regression') return undefined;
  const labels = [...new Set(rows.map((r) => r.label))];
  if (labels.every((l) => typeof l === 'number')) {
    return labels.sort((a, b) => a - b).map(String);
  }
  return labels.map(String).sort();
}

/**
 * Label → stored value. Class labels are looked up by name; a class not seen before gets
 * the next id (appended to the names), so earlier ids keep their meaning.
 */
function labelMapper(
  kind: 'class' | 'regression',
  baseNames: string[] | undefined,
): { map: (label: number | string, row: number) => number; names?: string[] } {
  if (kind === 'regression') {
    return {
      map: (label, row) => {
        if (typeof label !== 'number') {
          throw new BadInput(
            `row ${row}: label ${JSON.stringify(label)} of a regression dataset must be a number`,
            { row },
          );
        }
        return label;
      },
    };
  }
  if (!baseNames) {
    return {
      map: (label, row) => {
        if (typeof label !== 'number' || !Number.isInteger(label) || label < 0) {
          throw new BadInput(
            `row ${row}: this dataset has no class names; the label must be a class id`,
            { row },
          );
        }
        return label;
      },
    };
  }
  const names = [...baseNames];
  const ids = new Map(names.map((n, i) => [n, i]));
  return {
    names,
    map: (label) => {
      const key = String(label);
      let id = ids.get(key);
      if (id === undefined) {
        id = names.length;
        names.push(key);
        ids.set(key, id);
      }
      return id;
    },
  };
}

const F32_MAX = 3.4028234663852886e38;

function toBatch(
  rows: SampleRow[],
  dim: number,
  mapLabel: (label: number | string, row: number) => number,
): TabularBatch {
  const features = new Float32Array(rows.length * dim);
  const labels = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    if (r.features.length !== dim) {
      throw new BadInput(`row ${i} has ${r.features.length} features, the dataset has ${dim}`, {
        row: i,
        expected: dim,
      });
    }
    for (let j = 0; j < dim; j++) {
      const v = r.features[j] ?? NaN;
      if (Math.abs(v) > F32_MAX)
        throw new BadInput(`row ${i}, feature ${j}: ${v} is beyond float32`, { row: i });
      features[i * dim + j] = v;
    }
    labels[i] = mapLabel(r.label, i);
  });
  return { kind: 'tabular', rows: rows.length, dim, features, labels };
}

/** The base's split (or the default one) carried over rows [base.count, base.count + added). */
function extendSplit(base: DatasetVersionMeta | null, added: number): SplitInfo {
  const prev = base?.split ?? splitInfo(42, 0.2, base?.count ?? 0);
  const mask = validationMask(prev.seed, prev.validationFraction, base?.count ?? 0, added);
  const validation = mask.reduce((n, v) => n + v, 0);
  return {
    seed: prev.seed,
    validationFraction: prev.validationFraction,
    trainCount: prev.trainCount + added - validation,
    validationCount: prev.validationCount + validation,
  };
}
