import type { TrainerParams } from '../../shared/index.js';
import { DenseNetwork, initLayers } from './mlp.js';
import type { Rng } from './rng.js';

/**
 * Multinomial logistic regression: one dense layer into softmax. It shares the network code
 * with the MLP (a network without hidden layers), so both export and train identically.
 */
export function createSoftmaxRegression(
  dim: number,
  classes: number,
  params: TrainerParams,
  rng: Rng,
): DenseNetwork {
  return new DenseNetwork(initLayers([dim, classes], rng), params);
}
