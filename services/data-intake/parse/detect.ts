import { BadInput, UnsupportedMediaType } from '../../../shared/index.js';
import { DATASET_FORMATS, type DatasetFormat } from './types.js';

/** Text formats parsed line by line, or an archive holding images or IDX files. */
export type InputKind = 'libsvm' | 'csv' | 'jsonl' | 'arff' | 'archive';

export interface DetectHints {
  format?: string;
  contentType?: string;
  filename?: string;
}

export function unknownFormat(what: string): UnsupportedMediaType {
  return new UnsupportedMediaType(
    `${what}; known formats: ${DATASET_FORMATS.join(', ')} (plain or gzip)`,
    { known: [...DATASET_FORMATS] },
  );
}

export function isTar(head: Uint8Array): boolean {
  return head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar';
}

export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2]! <= 6 && head[3]! <= 6;
}

/** The IDX magic: two zero bytes, a type code, then the number of dimensions. */
export function isIdx(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2]! >= 0x08 && head[3]! >= 1;
}

const BY_CONTENT_TYPE: Record<string, InputKind> = {
  'text/csv': 'csv',
  'text/tab-separated-values': 'csv',
  'application/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'application/jsonlines': 'jsonl',
  'text/x-libsvm': 'libsvm',
  'text/x-arff': 'arff',
  'application/x-arff': 'arff',
  'application/x-libsvm': 'libsvm',
  'application/x-tar': 'archive',
  'application/zip': 'archive',
  'application/x-zip-compressed': 'archive',
};

const BY_EXTENSION: Record<string, InputKind> = {
  csv: 'csv',
  tsv: 'csv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  libsvm: 'libsvm',
  svm: 'libsvm',
  svmlight: 'libsvm',
  arff: 'arff',
  tar: 'archive',
  tgz: 'archive',
  zip: 'archive',
};

/** The file name without a trailing `.gz`, for detection after decompression. */
export function stripGz(filename: string | undefined): string | undefined {
  return filename?.replace(/\.gz$/i, '');
}

/**
 * Decides how to parse an upload: an explicit format wins, then magic bytes of binary
 * containers (which no header can fake), then the content type, the file extension, and
 * last a look at the first text line. `head` is the start of the (already gunzipped) input.
 */
export function detectInput(hints: DetectHints, head: Buffer): InputKind {
  if (hints.format !== undefined) {
    if (!(DATASET_FORMATS as readonly string[]).includes(hints.format)) {
      throw unknownFormat(`unknown dataset format '${hints.format}'`);
    }
    const f = hints.format as DatasetFormat;
    if (f === 'images' || f === 'idx') return 'archive';
    return f;
  }
  if (head.length === 0) throw new BadInput('empty file: no data rows', { reason: 'empty' });
  if (isTar(head) || isZip(head)) return 'archive';
  if (isIdx(head)) {
    throw new BadInput(
      'an IDX file alone has no labels: upload a tar or zip holding the images and labels files',
      { reason: 'idx needs both files' },
    );
  }
  if (isPng(head) || isJpeg(head)) {
    throw unknownFormat('a single image is not a dataset: upload a tar or zip of class folders');
  }
  const ct = hints.contentType?.split(';')[0]?.trim().toLowerCase();
  const byType = ct ? BY_CONTENT_TYPE[ct] : undefined;
  if (byType) return byType;
  const ext = hints.filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  const byExt = ext ? BY_EXTENSION[ext] : undefined;
  if (byExt) return byExt;
  const sniffed = sniffText(head);
  if (sniffed) return sniffed;
  throw unknownFormat('could not recognise the dataset format');
}

function isPng(h: Uint8Array): boolean {
  return h.length >= 4 && h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47;
}

function isJpeg(h: Uint8Array): boolean {
  return h.length >= 3 && h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff;
}

const LIBSVM_LINE = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s+qid:\d+)?(\s+\d+:\S+)+\s*(#.*)?$/;

/**
 * Looks at the first line: ARFF's `@relation` (after `%` comments), else the first data line:
 * JSON object, libsvm `label idx:value`, or delimited text.
 */
export function sniffText(head: Buffer): InputKind | null {
  const text = head.subarray(0, 64 * 1024).toString('utf8');
  if (text.includes('\u0000')) return null;
  const arff = text.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('%'));
  if (arff !== undefined && /^@relation(\s|$)/i.test(arff.trim())) return 'arff';
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (line === undefined) return null;
  let t = line.trim();
  // A very long first line may be cut mid-token at the end of `head`: test a whole-token prefix.
  if (t.length > 4096) t = t.slice(0, t.lastIndexOf(' ', 4096));
  if (t.startsWith('{') || t.startsWith('[')) return 'jsonl';
  if (LIBSVM_LINE.test(t)) return 'libsvm';
  if (/[,;\t]/.test(t)) return 'csv';
  return null;
}
