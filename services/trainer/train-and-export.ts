import {
  BadInput,
  parseTrainerParams,
  validationMask,
  type RowBatch,
  type TrainerParams,
} from '../../shared/index.js';
import { fromRowBatch, splitByMask, splitTrainValidation } from './dataset-split.js';
import { exportOnnx } from './onnx-export.js';
import type { TrainCheckpoint } from './checkpoint.js';
import { trainModel, type EpochReport, type TrainResult } from './train-loop.js';
import type { TrainedModel } from './trained-model.js';

export interface TrainAndExportOptions {
  /** Class names in class-id order, stored in the ONNX metadata. */
  labelNames?: readonly string[];
  /** Graph name, e.g. the model name. */
  name?: string;
  /** Extra ONNX metadata_props (dataset version, session id, ...). */
  metadata?: Record<string, string>;
  /**
   * A split recorded with the dataset: the validation rows are the ones its mask picks, not
   * the params' own `validationFraction` and `seed`.
   */
  split?: { seed: number; validationFraction: number };
  onEpoch?: (
    e: EpochReport,
    model: TrainedModel,
    checkpoint: () => TrainCheckpoint,
  ) => void | Promise<void>;
  shouldStop?: () => boolean;
  /** Continue the run this checkpoint was taken of (see `trainModel`). */
  resume?: TrainCheckpoint;
}

interface TrainAndExportFacts extends Omit<TrainResult, 'stopped'> {
  trainRows: number;
  validationRows: number;
  /** the params as validated, defaults filled in */
  params: TrainerParams;
  /** features per row (pixels × channels for images) */
  dim: number;
  classes: number;
}

/**
 * With the serialized ONNX model (input `input`, outputs `logits` and `probabilities`), or,
 * when `shouldStop` ended training, without one: a stopped session registers nothing.
 */
export type TrainAndExportResult =
  | (TrainAndExportFacts & { stopped: false; onnx: Uint8Array })
  | (TrainAndExportFacts & { stopped: true; onnx: null });

/**
 * The trainer's whole job on one in-memory dataset: validate params, hold out the validation
 * split, train, export. `paramsInput` is the user's raw params (BadInput when out of range).
 */
export async function trainAndExport(
  batch: RowBatch,
  paramsInput: unknown,
  opts: TrainAndExportOptions = {},
): Promise<TrainAndExportResult> {
  const params = parseTrainerParams(paramsInput);
  const m = fromRowBatch(batch);
  const classes = Math.max(m.classes, opts.labelNames?.length ?? 0);
  if (opts.labelNames && m.classes > opts.labelNames.length) {
    throw new BadInput(
      `labels go up to ${m.classes - 1} but only ${opts.labelNames.length} label names are known`,
    );
  }
  const { train, validation } = opts.split
    ? splitByMask(
        m.data,
        m.dim,
        validationMask(opts.split.seed, opts.split.validationFraction, 0, m.data.rows),
      )
    : splitTrainValidation(m.data, m.dim, params.validationFraction, params.seed);
  const result = await trainModel({
    params,
    train,
    validation,
    dim: m.dim,
    classes,
    inputKind: m.kind,
    ...(opts.onEpoch ? { onEpoch: opts.onEpoch } : {}),
    ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
    ...(opts.resume ? { resume: opts.resume } : {}),
  });
  const facts = {
    ...result,
    trainRows: train.rows,
    validationRows: validation.rows,
    params,
    dim: m.dim,
    classes,
  };
  if (result.stopped) return { ...facts, stopped: true, onnx: null };
  const onnx = exportOnnx(result.model, {
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.labelNames ? { labelNames: opts.labelNames } : {}),
    metadata: {
      val_accuracy: String(result.validation.accuracy),
      val_loss: String(result.validation.loss),
      // Image models take flattened HWC rows; the shape tells a client how to flatten an image.
      ...(batch.kind === 'image'
        ? { image_shape: JSON.stringify([batch.height, batch.width, batch.channels]) }
        : {}),
      ...opts.metadata,
    },
  });
  return { ...facts, stopped: false, onnx };
}
