import { z } from 'zod';

/** `params` of a batch-infer session request. */
export const BatchInferParams = z
  .object({
    /** rows per BullMQ job; the unit of spreading over replicas and of retry */
    chunkRows: z.number().int().min(1).max(100_000).default(1024),
    /** model output to keep (default: `probabilities`, else the first output) */
    output: z.string().min(1).optional(),
    /** name of the dataset to write (default `<dataset>-pred-<model>-g<gen>`) */
    outputDataset: z.string().min(1).max(128).optional(),
  })
  .strict();
export type BatchInferParams = z.infer<typeof BatchInferParams>;

/** Row ranges of `count` rows, `chunkRows` each (the last one shorter). */
export function planChunks(count: number, chunkRows: number): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  for (let start = 0; start < count; start += chunkRows)
    out.push({ start, count: Math.min(chunkRows, count - start) });
  return out;
}

/** Class id per row: the index of the largest value (ties: the first). */
export function argmaxRows(values: Float32Array, width: number): Float32Array {
  const rows = width > 0 ? values.length / width : 0;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < width; c++) {
      const v = values[r * width + c]!;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}
