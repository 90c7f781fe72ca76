import type { TrainerParams } from '../../shared/index.js';
import type { Imputation } from './imputation.js';
import type { Normalization } from './normalization.js';
import type { DenseLayer } from './trainable.js';

/**
 * Everything needed to predict and to export: weights, missing-value fills, input scaling and
 * how it was made.
 */
export interface TrainedModel {
  trainer: TrainerParams['trainer'];
  params: TrainerParams;
  /** Raw features per row. */
  dim: number;
  classes: number;
  /** Fills for missing (NaN) features, applied before the normalization; null for images. */
  imputation: Imputation | null;
  normalization: Normalization | null;
  layers: readonly DenseLayer[];
}
