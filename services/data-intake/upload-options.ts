import { z } from 'zod';
import { UnsupportedMediaType } from '../../shared/index.js';
import { DATASET_FORMATS, type ParseOptions } from './parse/index.js';

/** How an upload is split into training and validation rows (recorded in its metadata). */
export interface SplitOptions {
  /** @defaultValue 42 */
  seed: number;
  /** @defaultValue 0.2 */
  validationFraction: number;
}

const tristate = z.enum(['true', 'false', 'auto']);

/** Query parameters of an upload; every one optional. */
export const UploadQuery = z.object({
  format: z.string().optional(),
  filename: z.string().max(512).optional(),
  seed: z.coerce.number().int().min(0).max(0xffff_ffff).default(42),
  fraction: z.coerce.number().min(0).max(1).default(0.2),
  labelKind: z.enum(['class', 'regression', 'auto']).optional(),
  features: z.coerce.number().int().min(1).optional(),
  indexBase: z.enum(['0', '1', 'auto']).optional(),
  header: tristate.optional(),
  labelColumn: z.string().optional(),
  columns: z.string().optional(),
  delimiter: z.string().min(1).max(1).optional(),
  skipLines: z.coerce.number().int().min(0).optional(),
  resize: z
    .string()
    .regex(/^\d+x\d+$/, 'resize is HEIGHTxWIDTH, e.g. 28x28')
    .optional(),
  channels: z.enum(['1', '3', '4']).optional(),
});

export interface UploadOptions {
  parse: ParseOptions;
  split: SplitOptions;
}

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
  return { parse, split: { seed: q.seed, validationFraction: q.fraction } };
}

function toSize(s: string): { height: number; width: number } {
  const [h, w] = s.split('x').map(Number);
  return { height: h!, width: w! };
}
