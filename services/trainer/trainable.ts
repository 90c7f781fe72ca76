/** A fully connected layer: `w` is inDim×outDim row-major (ONNX Gemm's B), `b` has outDim. */
export interface DenseLayer {
  inDim: number;
  outDim: number;
  w: Float32Array;
  b: Float32Array;
}

/**
 * A classifier the training loop can drive. Inputs are already normalized, row-major
 * rows×dim; labels are class ids.
 */
export interface Trainable {
  /** Layer widths from input to classes, e.g. [64, 128, 10]. */
  readonly dims: readonly number[];
  /**
   * Class probabilities, rows×classes. The returned array is an internal buffer that the
   * next forward/trainBatch call overwrites: copy it to keep it.
   */
  forward(x: Float32Array, rows: number): Float32Array;
  /**
   * One optimizer step on a mini-batch. Returns the batch's mean cross-entropy before the
   * step; the probabilities it computed stay readable through `lastProbabilities()`.
   */
  trainBatch(x: Float32Array, y: Int32Array, rows: number, labelOffset?: number): number;
  /** The probabilities of the last forward or trainBatch call. */
  lastProbabilities(): Float32Array;
  /** The live layers (not copies). */
  layers(): readonly DenseLayer[];
}
