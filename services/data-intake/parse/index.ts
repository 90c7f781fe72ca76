import { tmpdir } from 'node:os';
import { parseArff } from './arff.js';
import { parseCsv } from './csv.js';
import { detectInput, stripGz } from './detect.js';
import { parseIdxStreams } from './idx.js';
import { parseArchive } from './image-archive.js';
import { parseJsonl } from './jsonl.js';
import { parseLibsvm } from './libsvm.js';
import { gunzip, isGzip, peek, toChunks, type ByteSource } from './source.js';
import type { ParseContext, ParsedDataset, ParseOptions } from './types.js';

export { DATASET_FORMATS } from './types.js';
export type { DatasetFormat, ParsedDataset, ParsedInfo, ParseOptions } from './types.js';
export type { ByteSource } from './source.js';
export type { LabelKind } from './labels.js';
export type { LineErrorDetails } from './bad-input.js';
export { MAX_CLASSES } from './labels.js';
export { MAX_FEATURES } from './libsvm.js';

/** Enough of the input to recognise any format (tar's magic is at byte 257). */
const HEAD_BYTES = 64 * 1024;

function context(opts: ParseOptions, gzip: boolean): ParseContext {
  return {
    opts,
    tmpDir: opts.tmpDir ?? tmpdir(),
    gzip,
    batchRows: opts.batchRows ?? 4096,
    batchBytes: opts.batchBytes ?? 1024 * 1024,
  };
}

/**
 * Parses an upload of any known format into row batches with bounded memory.
 * Gzip is undone first (by its magic bytes), then the format is taken from `opts.format`,
 * magic bytes, `contentType`, `filename` or the first line, in that order.
 * Resolves once the input has been read (the first pass); `info` is then final and
 * `batches()` streams the rows. Malformed input rejects with `BadInput`
 * (`details: {line, col, reason}` for text, `{entry, reason}` for archives); an unknown
 * format with `UnsupportedMediaType` listing the known ones.
 */
export async function parseDataset(
  input: ByteSource,
  opts: ParseOptions = {},
): Promise<ParsedDataset> {
  let { head, rest } = await peek(toChunks(input), HEAD_BYTES);
  let filename = opts.filename;
  const gzip = isGzip(head);
  if (gzip) {
    ({ head, rest } = await peek(
      gunzip(rest, { maxBytes: opts.maxDecompressedBytes }),
      HEAD_BYTES,
    ));
    filename = stripGz(filename);
  }
  const contentType = /gzip/i.test(opts.contentType ?? '') ? undefined : opts.contentType;
  try {
    const kind = detectInput({ format: opts.format, contentType, filename }, head);
    const ctx = context(opts, gzip);
    switch (kind) {
      case 'libsvm':
        return await parseLibsvm(rest, ctx);
      case 'csv':
        return await parseCsv(rest, ctx);
      case 'jsonl':
        return await parseJsonl(rest, ctx);
      case 'arff':
        return await parseArff(rest, ctx);
      case 'archive':
        return await parseArchive(rest, head, ctx);
    }
  } catch (err) {
    await rest.return(undefined);
    throw err;
  }
}

/**
 * IDX (MNIST / Fashion-MNIST) from two separate streams, each plain or gzip.
 * A single upload holding both goes through `parseDataset` as a tar or zip.
 */
export async function parseIdx(
  images: ByteSource,
  labels: ByteSource,
  opts: ParseOptions = {},
): Promise<ParsedDataset> {
  return parseIdxStreams(images, labels, context(opts, false));
}
