import type { TrainerParams } from '../../shared/index.js';

/** One parameter tensor with its gradient buffer; `decay` marks weights that L2 applies to. */
export interface ParamSlot {
  param: Float32Array;
  grad: Float32Array;
  decay: boolean;
}

/** Applies one update step to every slot from the gradients they currently hold. */
export type Optimizer = (slots: readonly ParamSlot[]) => void;

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
  return (all) => {
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
}

/** Adam with bias correction folded into the step size; L2 is added to the gradient. */
function adam(p: OptimizerParams, slots: readonly ParamSlot[]): Optimizer {
  const m1 = slots.map((s) => new Float32Array(s.param.length));
  const m2 = slots.map((s) => new Float32Array(s.param.length));
  const { learningRate: lr, l2 } = p;
  let t = 0;
  return (all) => {
    t++;
    const step = (lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
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
        w[i]! -= (step * mi) / (Math.sqrt(vi) + eps);
      }
    });
  };
}
