import {
  checkName,
  type DatasetStore,
  type DatasetVersionMeta,
  type EventLog,
  type Logger,
  splitInfo,
  createStatsAccumulator,
  archiveDatasetVersion,
} from '../../shared/index.js';
import { parseDataset, type ByteSource, type ParsedDataset } from './parse/index.js';
import type { UploadOptions } from './upload-options.js';

export interface IngestDeps {
  datasets: DatasetStore;
  events: EventLog;
  log: Logger;
}

export interface IngestLimits {
  tmpDir: string;
  /** parsed bytes held in memory before spilling */
  memoryLimitBytes: number;
  /** target feature bytes per shard */
  shardBytes: number;
  /** The body's declared length, when known. */
  declaredBytes?: number;
}

/**
 * Parses an upload and stores it as the next version of `name`, with statistics and the
 * train/validation split in its metadata, then archives `dataset.version`. All or nothing:
 * any error (malformed input, a body over the limit, a dropped connection) aborts the
 * writer, so no version and no staged shard of this upload remain.
 */
export async function ingestUpload(
  deps: IngestDeps,
  name: string,
  body: ByteSource,
  opts: UploadOptions,
  limits: IngestLimits,
): Promise<DatasetVersionMeta> {
  checkName(name, 'dataset');
  const t0 = performance.now();
  // Parsed rows take a third (dense libsvm) to twice (short CSV values) the bytes of their
  // text, so a body of the memory allowance or more is likely to spill: it goes to disk from
  // the start rather than after filling the allowance, which would only raise the peak.
  const spillsAnyway = (limits.declaredBytes ?? 0) >= limits.memoryLimitBytes;
  const parsed = await parseDataset(body, {
    ...opts.parse,
    tmpDir: limits.tmpDir,
    memoryLimitBytes: spillsAnyway ? 0 : limits.memoryLimitBytes,
    batchBytes: limits.shardBytes,
  });
  const writer = deps.datasets.beginVersion(name);
  try {
    const meta = await store(parsed, writer, opts);
    deps.log.info(
      {
        dataset: name,
        version: meta.version,
        rows: meta.count,
        bytes: meta.bytes,
        ms: Math.round(performance.now() - t0),
      },
      'dataset version stored',
    );
    try {
      await archiveDatasetVersion(deps.events, meta);
    } catch (err) {
      // The version exists and the client is told so; a missing event only delays retraining.
      deps.log.error({ err, dataset: name, version: meta.version }, 'dataset.version not archived');
    }
    return meta;
  } catch (err) {
    await writer.abort().catch((e: unknown) => deps.log.warn({ err: e }, 'abort failed'));
    throw err;
  } finally {
    await parsed.close();
  }
}

async function store(
  parsed: ParsedDataset,
  writer: ReturnType<DatasetStore['beginVersion']>,
  opts: UploadOptions,
): Promise<DatasetVersionMeta> {
  const info = parsed.info;
  const stats = createStatsAccumulator(info.labelKind);
  for await (const batch of parsed.batches()) {
    stats.add(batch);
    await writer.writeShard(batch);
  }
  const { seed, validationFraction } = opts.split;
  return writer.commit({
    kind: info.kind,
    format: info.format,
    ...(info.kind === 'tabular' ? { features: info.features } : {}),
    ...(info.featureNames ? { featureNames: info.featureNames } : {}),
    ...(info.imageShape ? { imageShape: info.imageShape } : {}),
    count: info.count,
    labelKind: info.labelKind,
    ...(info.labelNames ? { labelNames: info.labelNames } : {}),
    stats: stats.result(),
    split: splitInfo(seed, validationFraction, info.count),
    source: {
      gzip: info.gzip,
      ...(opts.parse.filename ? { filename: opts.parse.filename } : {}),
      ...(info.indexBase === undefined ? {} : { indexBase: info.indexBase }),
    },
  });
}
