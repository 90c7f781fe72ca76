import {
  checkName,
  type CommitMeta,
  type DatasetStore,
  type DatasetVersionMeta,
  type EventLog,
  type Logger,
  splitInfo,
  createStatsAccumulator,
  archiveDatasetVersion,
} from '../../shared/index.js';
import { parseDataset, type ByteSource, type ParsedDataset } from './parse/index.js';
import { hashingSource } from './upload-hash.js';
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
  /** what a gzip upload may decompress to: gzip is no way around the upload limit @defaultValue unlimited */
  maxDecompressedBytes?: number;
}

export interface IngestResult {
  /** The new version, or the latest one when the upload was identical to it. */
  meta: DatasetVersionMeta;
  /** True when no version was made because the latest one holds the same rows. */
  identical: boolean;
}

/**
 * Parses an upload and stores it as the next version of `name`, with statistics and the
 * train/validation split in its metadata, then archives `dataset.version`. All or nothing:
 * any error (malformed input, a body over the limit, a dropped connection) aborts the
 * writer, so no version and no staged shard of this upload remain.
 *
 * Unless `opts.force`, an upload identical to the latest version makes no new version:
 * identical means the same uploaded bytes parsed the same way (checked before any shard is
 * written), or else the same stored rows, names and split (checked before the commit).
 */
export async function ingestUpload(
  deps: IngestDeps,
  name: string,
  body: ByteSource,
  opts: UploadOptions,
  limits: IngestLimits,
): Promise<IngestResult> {
  checkName(name, 'dataset');
  const t0 = performance.now();
  // Parsed rows take a third (dense libsvm) to twice (short CSV values) the bytes of their
  // text, so a body of the memory allowance or more is likely to spill: it goes to disk from
  // the start rather than after filling the allowance, which would only raise the peak.
  const spillsAnyway = (limits.declaredBytes ?? 0) >= limits.memoryLimitBytes;
  const upload = hashingSource(body);
  const parsed = await parseDataset(upload.chunks, {
    ...opts.parse,
    tmpDir: limits.tmpDir,
    memoryLimitBytes: spillsAnyway ? 0 : limits.memoryLimitBytes,
    batchBytes: limits.shardBytes,
    maxDecompressedBytes: limits.maxDecompressedBytes,
  });
  try {
    const latest = opts.force ? null : await deps.datasets.latestVersion(name);
    const uploadSha256 = upload.sha256();
    if (latest && uploadSha256 && sameUpload(latest, uploadSha256, parsed, opts)) {
      return { meta: latest, identical: true };
    }
    const writer = deps.datasets.beginVersion(name);
    try {
      const commit = await writeRows(parsed, writer, opts, uploadSha256);
      if (latest && (await writer.contentSha256()) === latest.sha256 && sameRows(commit, latest)) {
        await writer.abort();
        return { meta: latest, identical: true };
      }
      const meta = await writer.commit(commit);
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
        deps.log.error(
          { err, dataset: name, version: meta.version },
          'dataset.version not archived',
        );
      }
      return { meta, identical: false };
    } catch (err) {
      await writer.abort().catch((e: unknown) => deps.log.warn({ err: e }, 'abort failed'));
      throw err;
    }
  } finally {
    await parsed.close();
  }
}

async function writeRows(
  parsed: ParsedDataset,
  writer: ReturnType<DatasetStore['beginVersion']>,
  opts: UploadOptions,
  uploadSha256: string | undefined,
): Promise<CommitMeta> {
  const info = parsed.info;
  const stats = createStatsAccumulator(info.labelKind);
  for await (const batch of parsed.batches()) {
    stats.add(batch);
    await writer.writeShard(batch);
  }
  const { seed, validationFraction } = opts.split;
  return {
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
    ...(uploadSha256 ? { uploadSha256 } : {}),
    source: {
      gzip: info.gzip,
      ...(opts.parse.filename ? { filename: opts.parse.filename } : {}),
      ...(info.indexBase === undefined ? {} : { indexBase: info.indexBase }),
      ...(Object.keys(opts.asked).length > 0 ? { options: opts.asked } : {}),
    },
  };
}

/** The same bytes, read by the same parser with the same options and split the same way. */
function sameUpload(
  latest: DatasetVersionMeta,
  uploadSha256: string,
  parsed: ParsedDataset,
  opts: UploadOptions,
): boolean {
  const options = (latest.source as { options?: unknown } | undefined)?.options ?? {};
  return (
    latest.uploadSha256 === uploadSha256 &&
    latest.format === parsed.info.format &&
    JSON.stringify(options) === JSON.stringify(opts.asked) &&
    latest.split?.seed === opts.split.seed &&
    latest.split.validationFraction === opts.split.validationFraction
  );
}

/** Beyond equal shards (compared by hash): what a trainer reads besides the rows. */
function sameRows(commit: CommitMeta, latest: DatasetVersionMeta): boolean {
  const key = (m: CommitMeta | DatasetVersionMeta) =>
    JSON.stringify([
      m.kind,
      m.features,
      m.featureNames,
      m.imageShape,
      m.labelKind,
      m.labelNames,
      m.split?.seed,
      m.split?.validationFraction,
    ]);
  return key(commit) === key(latest);
}
