import { z } from 'zod';
import { DatasetUploadQuery as UploadQuery, UnsupportedMediaType } from '../../shared/index.js';
// types.js, not index.js: the CLI imports this module to build its flags, and must not load
// the parsers (sharp among them) to do so.
import { DATASET_FORMATS, type ParseOptions } from './parse/types.js';

/** How an upload is split into training and validation rows (recorded in its metadata). */
export interface SplitOptions {
  /** @defaultValue 42 */
  seed: number;
  /** @defaultValue 0.2 */
  validationFraction: number;
}

export { UploadQuery };

export type UploadQueryInput = z.input<typeof UploadQuery>;

/**
 * How a query parameter is given on the command line: `value` takes an argument
 * (`--label-column 0`), `switch` sends `true` when present (`--force`), `negatable` sends
 * `true` or `false` (`--header` / `--no-header`) and nothing when neither is given.
 */
export interface UploadFlag {
  kind: 'value' | 'switch' | 'negatable';
  /** The argument's placeholder in the help. */
  arg?: string;
  /** Help of a negatable pair, where the description (a tristate) reads badly: `--x`, then `--no-x`. */
  on?: string;
  off?: string;
}

/** Keyed by the schema's own keys, so a parameter added to UploadQuery alone does not compile. */
export const UPLOAD_FLAGS: { readonly [K in keyof Required<UploadQueryInput>]: UploadFlag } = {
  format: { kind: 'value', arg: 'format' },
  filename: { kind: 'value', arg: 'name' },
  seed: { kind: 'value', arg: 'n' },
  fraction: { kind: 'value', arg: 'f' },
  labelKind: { kind: 'value', arg: 'kind' },
  features: { kind: 'value', arg: 'n' },
  indexBase: { kind: 'value', arg: 'base' },
  header: {
    kind: 'negatable',
    on: 'csv: the first line holds column names (default: detected)',
    off: 'csv: the first line is data',
  },
  labelColumn: { kind: 'value', arg: 'column' },
  columns: { kind: 'value', arg: 'names' },
  delimiter: { kind: 'value', arg: 'char' },
  skipLines: { kind: 'value', arg: 'n' },
  resize: { kind: 'value', arg: 'HxW' },
  channels: { kind: 'value', arg: 'n' },
  force: { kind: 'switch' },
};

/** `labelColumn` → `label-column`: the CLI flag of a query parameter. */
export function flagName(param: string): string {
  return param.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The description of a query parameter (its CLI help). */
export function uploadParamHelp(param: keyof UploadQueryInput): string {
  return UploadQuery.shape[param].description ?? '';
}

export interface UploadOptions {
  parse: ParseOptions;
  split: SplitOptions;
  /** Store a new version even when it is identical to the latest. */
  force: boolean;
  /**
   * The parsing options as asked (every parameter given but the file name, the split and
   * `force`), recorded on the version: the same bytes parsed with the same options give the
   * same rows.
   */
  asked: Record<string, string | number>;
}

const NOT_PARSING = new Set(['filename', 'seed', 'fraction', 'force']);

/**
 * Turns an upload's query string (and content type) into parser and split options.
 * An unknown format name is a 415, like an unrecognisable body.
 */
export function uploadOptions(
  query: URLSearchParams,
  contentType: string | undefined,
): UploadOptions {
  const q = UploadQuery.parse(Object.fromEntries(query));
  if (q.format !== undefined && !(DATASET_FORMATS as readonly string[]).includes(q.format)) {
    throw new UnsupportedMediaType(
      `unknown dataset format '${q.format}'; known formats: ${DATASET_FORMATS.join(', ')}`,
      { known: [...DATASET_FORMATS] },
    );
  }
  const parse: ParseOptions = {
    ...(q.format ? { format: q.format } : {}),
    ...(contentType ? { contentType } : {}),
    ...(q.filename ? { filename: q.filename } : {}),
    ...(q.labelKind ? { labelKind: q.labelKind } : {}),
    ...(q.features ? { features: q.features } : {}),
    ...(q.indexBase
      ? { indexBase: q.indexBase === 'auto' ? 'auto' : (Number(q.indexBase) as 0 | 1) }
      : {}),
    ...(q.header ? { header: q.header === 'auto' ? 'auto' : q.header === 'true' } : {}),
    ...(q.labelColumn !== undefined
      ? { labelColumn: /^-?\d+$/.test(q.labelColumn) ? Number(q.labelColumn) : q.labelColumn }
      : {}),
    ...(q.columns ? { columns: q.columns.split(',').map((c) => c.trim()) } : {}),
    ...(q.delimiter ? { delimiter: q.delimiter } : {}),
    ...(q.skipLines !== undefined ? { skipLines: q.skipLines } : {}),
    ...(q.resize ? { resize: toSize(q.resize) } : {}),
    ...(q.channels ? { channels: Number(q.channels) as 1 | 3 | 4 } : {}),
  };
  const asked = Object.fromEntries(
    Object.entries(q)
      .filter(([k, v]) => v !== undefined && !NOT_PARSING.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  ) as Record<string, string | number>;
  return {
    parse,
    split: { seed: q.seed, validationFraction: q.fraction },
    force: q.force === 'true' || q.force === '1',
    asked,
  };
}

function toSize(s: string): { height: number; width: number } {
  const [h, w] = s.split('x').map(Number);
  return { height: h!, width: w! };
}
