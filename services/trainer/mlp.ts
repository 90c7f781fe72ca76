import type { TrainerParams } from '../../shared/index.js';
import {
  createOptimizer,
  type Optimizer,
  type OptimizerState,
  type ParamSlot,
} from './optimizers.js';
import type { Rng } from './rng.js';
import {
  columnSums,
  crossEntropySum,
  matmul,
  matmulTransA,
  matmulTransB,
  reluBackwardInPlace,
  reluInPlace,
  softmaxRows,
} from './tensor-ops.js';
import type { DenseLayer, Trainable } from './trainable.js';

type OptimizerParams = Pick<TrainerParams, 'optimizer' | 'learningRate' | 'momentum' | 'l2'>;

/**
 * Fresh layers for widths `dims` (input, hidden..., classes). Hidden layers feed a ReLU, so
 * they get He initialisation (variance 2/fanIn); the output layer feeds softmax and gets
 * variance 1/fanIn. Biases start at zero.
 */
export function initLayers(dims: readonly number[], rng: Rng): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const inDim = dims[l]!;
    const outDim = dims[l + 1]!;
    const isOutput = l + 2 === dims.length;
    const std = Math.sqrt((isOutput ? 1 : 2) / inDim);
    const w = new Float32Array(inDim * outDim);
    for (let i = 0; i < w.length; i++) w[i] = rng.gaussian() * std;
    layers.push({ inDim, outDim, w, b: new Float32Array(outDim) });
  }
  return layers;
}

/**
 * A feed-forward ReLU network ending in softmax, trained with cross-entropy. With no hidden
 * layer it is multinomial logistic regression. Owns its work buffers, which grow to the
 * largest batch seen.
 */
export class DenseNetwork implements Trainable {
  readonly dims: readonly number[];
  private readonly net: DenseLayer[];
  private readonly slots: ParamSlot[];
  private readonly step: Optimizer | undefined;
  private capacity = 0;
  /** acts[l] holds the output of layer l-1 (acts[0] is unused: the input is borrowed). */
  private acts: Float32Array[] = [];
  private grads: Float32Array[] = [];
  private probs = new Float32Array(0);
  private lastRows = 0;

  /** `optimizer` may be omitted for a network used only for inference. */
  constructor(layers: DenseLayer[], optimizer?: OptimizerParams) {
    if (layers.length === 0) throw new Error('a network needs at least one layer');
    this.net = layers;
    this.dims = [layers[0]!.inDim, ...layers.map((l) => l.outDim)];
    this.slots = layers.flatMap((l) => [
      { param: l.w, grad: new Float32Array(l.w.length), decay: true },
      { param: l.b, grad: new Float32Array(l.b.length), decay: false },
    ]);
    this.step = optimizer ? createOptimizer(optimizer, this.slots) : undefined;
  }

  layers(): readonly DenseLayer[] {
    return this.net;
  }

  /** The optimizer's live state (undefined for an inference-only network). */
  optimizerState(): OptimizerState | undefined {
    return this.step?.state();
  }

  lastProbabilities(): Float32Array {
    return this.probs.subarray(0, this.lastRows * this.dims[this.dims.length - 1]!);
  }

  forward(x: Float32Array, rows: number): Float32Array {
    this.ensureCapacity(rows);
    let input = x;
    const last = this.net.length - 1;
    this.net.forEach((layer, l) => {
      const out = l === last ? this.probs : this.acts[l + 1]!;
      matmul(input, layer.w, out, rows, layer.inDim, layer.outDim, layer.b);
      if (l === last) softmaxRows(out, out, rows, layer.outDim);
      else reluInPlace(out, rows * layer.outDim);
      input = out;
    });
    this.lastRows = rows;
    return this.lastProbabilities();
  }

  trainBatch(x: Float32Array, y: Int32Array, rows: number, labelOffset = 0): number {
    if (!this.step) throw new Error('this network was built without an optimizer');
    this.forward(x, rows);
    const classes = this.dims[this.dims.length - 1]!;
    const loss = crossEntropySum(this.probs, y, rows, classes, labelOffset) / rows;

    // dLoss/dLogits of mean softmax cross-entropy: (p − onehot(y)) / rows.
    const last = this.net.length - 1;
    let dz = this.grads[last]!;
    const inv = 1 / rows;
    for (let i = 0; i < rows * classes; i++) dz[i] = this.probs[i]! * inv;
    for (let i = 0; i < rows; i++) dz[i * classes + y[labelOffset + i]!]! -= inv;

    for (let l = last; l >= 0; l--) {
      const layer = this.net[l]!;
      const input = l === 0 ? x : this.acts[l]!;
      const slotW = this.slots[2 * l]!;
      const slotB = this.slots[2 * l + 1]!;
      matmulTransA(input, dz, slotW.grad, rows, layer.inDim, layer.outDim);
      columnSums(dz, slotB.grad, rows, layer.outDim);
      if (l > 0) {
        const dPrev = this.grads[l - 1]!;
        matmulTransB(dz, layer.w, dPrev, rows, layer.outDim, layer.inDim);
        reluBackwardInPlace(dPrev, this.acts[l]!, rows * layer.inDim);
        dz = dPrev;
      }
    }
    this.step.step(this.slots);
    return loss;
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = rows;
    const d = this.dims;
    // acts[l] and grads[l-1] have layer l's input width; grads[last] holds dLogits.
    this.acts = d.map((w, l) => (l === 0 ? new Float32Array(0) : new Float32Array(rows * w)));
    this.grads = d.slice(1).map((w) => new Float32Array(rows * w));
    this.probs = new Float32Array(rows * d[d.length - 1]!);
  }
}

/** An MLP with `params.hidden` ReLU layers between `dim` inputs and `classes` outputs. */
export function createMlp(
  dim: number,
  classes: number,
  params: TrainerParams,
  rng: Rng,
): DenseNetwork {
  return new DenseNetwork(initLayers([dim, ...params.hidden, classes], rng), params);
}
