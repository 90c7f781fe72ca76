import { z } from 'zod';

/**
 * Dataset formats a user can name. `images`: a tar/zip of PNG/JPEG files, one folder per
 * class; `arff`: Weka's attribute-relation files (OpenML's too).
 */
export const DATASET_FORMATS = ['libsvm', 'csv', 'jsonl', 'arff', 'idx', 'images'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

const tristate = z.enum(['true', 'false', 'auto']);

/**
 * Query parameters of an upload; every one optional. This is the one list of upload options:
 * the CLI makes a `swarmml dataset push` flag of each (kebab case, help from the description;
 * see UPLOAD_FLAGS in services/data-intake/upload-options.ts), the gateway validates it
 * before streaming an upload on, and the OpenAPI document lists it.
 */
export const DatasetUploadQuery = z.object({
  format: z
    .string()
    .optional()
    .describe(`${DATASET_FORMATS.join(' | ')} (default: detected from the content)`),
  filename: z
    .string()
    .max(512)
    .optional()
    .describe('original file name: a format hint, kept in the version (default: the file name)'),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(0xffff_ffff)
    .default(42)
    .describe('train/validation split seed (default 42)'),
  fraction: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe('validation fraction, 0..1 (default 0.2)'),
  labelKind: z
    .enum(['class', 'regression', 'auto'])
    .optional()
    .describe('class | regression | auto (default auto)'),
  features: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe('libsvm: feature count (default: the largest index)'),
  indexBase: z
    .enum(['0', '1', 'auto'])
    .optional()
    .describe('libsvm: 0 | 1 | auto (default auto: 0-based when some index is 0)'),
  header: tristate
    .optional()
    .describe('csv: the first line holds column names: true | false | auto (default auto)'),
  labelColumn: z
    .string()
    .optional()
    .describe(
      'label column by name or index, negative from the end (default: last; jsonl: label; arff: the last attribute)',
    ),
  columns: z.string().optional().describe('csv: comma-separated column names'),
  delimiter: z
    .string()
    .min(1)
    .max(1)
    .optional()
    .describe('csv: field separator, one character (default , or tab)'),
  skipLines: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('csv: raw lines to drop first (default 0)'),
  resize: z
    .string()
    .regex(/^\d+x\d+$/, 'resize is HEIGHTxWIDTH, e.g. 28x28')
    .optional()
    .describe('images: resize every image to HEIGHTxWIDTH'),
  channels: z
    .enum(['1', '3', '4'])
    .optional()
    .describe("images: 1 | 3 | 4 channels (default: the first image's)"),
  force: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('make a new version even when the content is identical to the latest'),
});
