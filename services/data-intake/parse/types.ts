import type { ImageShape, RowBatch } from '../../../shared/index.js';
import type { LabelKind } from './labels.js';

export { DATASET_FORMATS, type DatasetFormat } from '../../../shared/index.js';
import type { DatasetFormat } from '../../../shared/index.js';

export interface ParseOptions {
  /**
   * Format by name; otherwise detected from `contentType`, `filename` or the bytes.
   * Any string is accepted so that a request's value can be passed through: an unknown one
   * rejects with `UnsupportedMediaType`.
   */
  format?: DatasetFormat | (string & {});
  contentType?: string;
  filename?: string;
  /** Most rows per emitted batch. @defaultValue 4096 */
  batchRows?: number;
  /** Target bytes of feature data per batch; lowers the row count for wide rows. @defaultValue 1 MiB */
  batchBytes?: number;
  /** `auto` treats all-integer labels with at most 1000 distinct values as classes. @defaultValue 'auto' */
  labelKind?: LabelKind | 'auto';

  // libsvm
  /** Feature count; indices beyond it are rejected. Default: the largest index seen. */
  features?: number;
  /** Index base of a libsvm file; `auto` means 0-based exactly when some index is 0. @defaultValue 'auto' */
  indexBase?: 0 | 1 | 'auto';

  // csv
  /** `auto` detects a header row, and sklearn's `count,features,name...` first line. @defaultValue 'auto' */
  header?: boolean | 'auto';
  /** Column names of a headerless file (also replace a header's names). */
  columns?: string[];
  /** Label column by name or index (negative counts from the end). @defaultValue the last column (csv), 'label' (jsonl), the last attribute (arff) */
  labelColumn?: string | number;
  /** Raw lines to drop before anything else. @defaultValue 0 */
  skipLines?: number;
  /** Field separator. @defaultValue ',' (tab when the first line has tabs and no commas) */
  delimiter?: string;

  // images
  /** Resize every image to this shape; without it, images of different shapes are rejected. */
  resize?: { height: number; width: number };
  /** Force 1 (grey), 3 (RGB) or 4 (RGBA) channels. Default: the first image's. */
  channels?: 1 | 3 | 4;

  /** Where the first pass spills to disk. @defaultValue os.tmpdir() */
  tmpDir?: string;
  /** Parsed bytes held in memory before spilling to a temp file. @defaultValue 64 MiB */
  memoryLimitBytes?: number;
  /** Bytes a gzip upload may decompress to (it may also expand at most 100:1). @defaultValue unlimited */
  maxDecompressedBytes?: number;
}

/** What a parse produced; complete before the first batch is emitted. */
export interface ParsedInfo {
  format: DatasetFormat;
  kind: 'tabular' | 'image';
  /** Values per row: dim for tabular, height*width*channels for images. */
  features: number;
  featureNames?: string[];
  labelKind: LabelKind;
  /** Class names, index = class id (classification only). */
  labelNames?: string[];
  imageShape?: ImageShape;
  count: number;
  /** Whether the input was gzip-compressed. */
  gzip: boolean;
  /** libsvm only: the index base used. */
  indexBase?: 0 | 1;
}

/**
 * A parsed upload. The input has been read in full (first pass) by the time this exists;
 * `batches()` runs the second pass, once. Call `close()` when done (also after an error)
 * to delete temp files; it is safe to call twice.
 */
export interface ParsedDataset {
  readonly info: ParsedInfo;
  batches(): AsyncGenerator<RowBatch>;
  close(): Promise<void>;
}

/** Settings shared by every parser. */
export interface ParseContext {
  opts: ParseOptions;
  tmpDir: string;
  gzip: boolean;
  batchRows: number;
  batchBytes: number;
}
