import type { TrainerParams } from '../../shared/index.js';
import type { Normalization } from './normalization.js';
import type { DenseLayer } from './trainable.js';

/** Everything needed to predict and to export: weights, input scaling and how it was made. */
export interface TrainedModel {
  trainer: TrainerParams['trainer'];
  params: TrainerParams;
  /** Raw features per row. */
  dim: number;
  classes: number;
  normalization: Normalization | null;
  layers: readonly DenseLayer[];
}
