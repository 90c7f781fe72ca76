import type { TrainerParams } from '../../shared/index.js';

/** One parameter tensor with its gradient buffer; `decay` marks weights that L2 applies to. */
export interface ParamSlot {
  param: Float32Array;
  grad: Float32Array;
  decay: boolean;
}

/** An optimizer's moment buffers (one per slot and moment) and its step count. */
export interface OptimizerState {
  steps: number;
  buffers: Float32Array[];
}

export interface Optimizer {
  /** Applies one update step to every slot from the gradients they currently hold. */
  step(slots: readonly ParamSlot[]): void;
  /** The live state (not copies): a checkpoint copies it, a resume overwrites it. */
  state(): OptimizerState;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

type OptimizerParams = Pick<TrainerParams, 'optimizer' | 'learningRate' | 'momentum' | 'l2'>;

/** Builds the optimizer named in params, with state sized for `slots`. */
export function createOptimizer(p: OptimizerParams, slots: readonly ParamSlot[]): Optimizer {
  return p.optimizer === 'adam' ? adam(p, slots) : sgd(p, slots);
}

/** SGD with classical momentum: v = μv − η(g + λw); w += v. */
function sgd(p: OptimizerParams, slots: readonly ParamSlot[]): Optimizer {
  const velocity = slots.map((s) => new Float32Array(s.param.length));
  const { learningRate: lr, momentum: mu, l2 } = p;
  const st: OptimizerState = { steps: 0, buffers: velocity };
  const step = (all: readonly ParamSlot[]) => {
    st.steps++;
    all.forEach((s, idx) => {
      const v = velocity[idx]!;
      const { param: w, grad: g } = s;
      const lambda = s.decay ? l2 : 0;
      for (let i = 0; i < w.length; i++) {
        const vi = mu * v[i]! - lr * (g[i]! + lambda * w[i]!);
        v[i] = vi;
        w[i]! += vi;
      }
    });
  };
  return { step, state: () => st };
}

/** Adam with bias correction folded into the step size; L2 is added to the gradient. */
function adam(p: OptimizerParams, slots: readonly ParamSlot[]): Optimizer {
  const m1 = slots.map((s) => new Float32Array(s.param.length));
  const m2 = slots.map((s) => new Float32Array(s.param.length));
  const { learningRate: lr, l2 } = p;
  // `steps` is Adam's t: a resume sets it along with the moments.
  const st: OptimizerState = { steps: 0, buffers: [...m1, ...m2] };
  const step = (all: readonly ParamSlot[]) => {
    const t = ++st.steps;
    const size = (lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
    const eps = ADAM_EPS * Math.sqrt(1 - ADAM_BETA2 ** t);
    all.forEach((s, idx) => {
      const m = m1[idx]!;
      const v = m2[idx]!;
      const { param: w, grad: g } = s;
      const lambda = s.decay ? l2 : 0;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]! + lambda * w[i]!;
        const mi = ADAM_BETA1 * m[i]! + (1 - ADAM_BETA1) * gi;
        const vi = ADAM_BETA2 * v[i]! + (1 - ADAM_BETA2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i]! -= (size * mi) / (Math.sqrt(vi) + eps);
      }
    });
  };
  return { step, state: () => st };
}
