/**
 * Dataset rows (shared/datasets/rows.ts) as a model's input tensor. Batch inference, the optimiser's
 * output check and the drift reference all feed stored rows to a model, so they share this.
 */
import { BadInput, rowWidth, type RowBatch } from '../../../shared/index.js';
import type { ModelIO, TensorSpec } from '../hosting/protocol.js';
import { ELEM, type TensorMap, type TypedData } from './tensors.js';

/** The model's single input; rows can only feed a model with one. */
export function rowInput(model: string, io: ModelIO): TensorSpec {
  if (io.inputs.length !== 1) {
    throw new BadInput(
      `model "${model}" has ${io.inputs.length} inputs; dataset rows can feed only a model with one`,
    );
  }
  return io.inputs[0]!;
}

/**
 * Rows as `[rows, ...]` of the input's type. A rank-2 input takes each row flattened; a
 * rank-4 input takes images as NCHW when its dim 1 equals the channel count, else NHWC.
 */
export function rowsToTensor(model: string, io: ModelIO, batch: RowBatch): TensorMap {
  const spec = rowInput(model, io);
  const width = rowWidth(batch);
  const fixed = spec.shape.slice(1).filter((d) => d > 0);
  const want = fixed.length === spec.shape.length - 1 ? fixed.reduce((a, b) => a * b, 1) : width;
  if (want !== width) {
    throw new BadInput(
      `model "${model}" input "${spec.name}" takes ${want} values per row; the dataset has ${width}`,
    );
  }
  const n = batch.rows * width;
  const src: ArrayLike<number> = batch.kind === 'tabular' ? batch.features : batch.pixels;
  let dims = [batch.rows, width];
  let order: ArrayLike<number> = src;
  if (spec.shape.length === 4 && batch.kind === 'image') {
    const { height: h, width: w, channels: c } = batch;
    if (spec.shape[1] === c && c > 1) {
      order = hwcToChw(batch.pixels, batch.rows, h, w, c);
      dims = [batch.rows, c, h, w];
    } else dims = [batch.rows, h, w, c];
  } else if (spec.shape.length !== 2) {
    throw new BadInput(
      `model "${model}" input "${spec.name}" has rank ${spec.shape.length}; rows feed rank 2 (or 4 for images)`,
    );
  }
  return { [spec.name]: { type: spec.type, dims, data: convert(spec, order, n) } };
}

function convert(spec: TensorSpec, src: ArrayLike<number>, n: number): TypedData {
  const info = ELEM[spec.type];
  if (info.bigint || spec.type === 'float16' || spec.type === 'bool') {
    throw new BadInput(`input "${spec.name}" is ${spec.type}; dataset rows feed numeric inputs`);
  }
  const out = info.make(n) as Exclude<TypedData, BigInt64Array | BigUint64Array>;
  for (let i = 0; i < n; i++) out[i] = src[i]!;
  return out;
}

function hwcToChw(px: Uint8Array, rows: number, h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(rows * h * w * c);
  const plane = h * w;
  for (let r = 0; r < rows; r++) {
    const base = r * plane * c;
    for (let p = 0; p < plane; p++)
      for (let k = 0; k < c; k++) out[base + k * plane + p] = px[base + p * c + k]!;
  }
  return out;
}

/** Which output batch inference keeps: the named one, else `probabilities`, else the first. */
export function pickOutput(model: string, io: ModelIO, name?: string): TensorSpec {
  const spec = name
    ? io.outputs.find((o) => o.name === name)
    : (io.outputs.find((o) => o.name === 'probabilities') ?? io.outputs[0]);
  if (!spec) {
    throw new BadInput(
      `model "${model}" has no output "${name ?? ''}"; outputs: ${io.outputs.map((o) => o.name).join(', ')}`,
    );
  }
  return spec;
}
