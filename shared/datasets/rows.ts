/**
 * A batch of samples as parsers produce them and shard readers return them.
 * Tabular: `features` holds rows*dim Float32 values, row-major; NaN marks a missing value.
 * Image: `pixels` holds rows*height*width*channels bytes (HWC, row-major), `features` is empty.
 * Labels are class ids (0..k-1) for classification and real values for regression.
 */
export type RowBatch = TabularBatch | ImageBatch;

export interface TabularBatch {
  kind: 'tabular';
  rows: number;
  dim: number;
  features: Float32Array;
  labels: Float32Array;
}

export interface ImageBatch {
  kind: 'image';
  rows: number;
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Float32Array;
}

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** Features per row, whatever the kind: dim for tabular, h*w*c for images. */
export function rowWidth(b: RowBatch): number {
  return b.kind === 'tabular' ? b.dim : b.height * b.width * b.channels;
}
