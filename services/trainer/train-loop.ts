import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BadInput, type TrainerParams } from '../../shared/index.js';
import type { TrainCheckpoint } from './checkpoint.js';
import type { LabeledData } from './dataset-split.js';
import { countCorrect, evaluate, type EvalResult } from './evaluate.js';
import { fitImputation, imputeRows, type Imputation } from './imputation.js';
import { createMlp } from './mlp.js';
import { fitNormalization, gatherNormalized, type InputKind } from './normalization.js';
import { createRng, shuffleInPlace } from './rng.js';
import { createSoftmaxRegression } from './softmax-regression.js';
import type { TrainedModel } from './trained-model.js';

/** What the loop reports after each epoch. */
export interface EpochReport {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Mean training cross-entropy over the epoch's batches. */
  loss: number;
  /** Running accuracy on the training batches as they were seen during the epoch. */
  trainAccuracy: number;
  /** NaN when there is no validation set. */
  valAccuracy: number;
  valLoss: number;
  /** Training samples per second in this epoch, validation excluded. */
  samplesPerSec: number;
  /** Since training started. */
  elapsedMs: number;
}

export interface TrainOptions {
  params: TrainerParams;
  train: LabeledData;
  validation?: LabeledData;
  /** Raw features per row. */
  dim: number;
  classes: number;
  /** Chooses what `normalize: 'auto'` means. @defaultValue 'tabular' */
  inputKind?: InputKind;
  /**
   * Awaited after each epoch; a throw aborts training and rejects `trainModel` with it.
   * `model` is live: its weights move on once this returns (export it here to checkpoint).
   */
  onEpoch?: (
    e: EpochReport,
    model: TrainedModel,
    checkpoint: () => TrainCheckpoint,
  ) => void | Promise<void>;
  /**
   * Continue a run from its checkpoint (same params and data): the result is bit-identical
   * to a run that was never interrupted. One of another run (its fingerprint differs) is a
   * BadInput.
   */
  resume?: TrainCheckpoint;
  /** Polled before every batch; true ends training before that batch. */
  shouldStop?: () => boolean;
  /** Longest stretch of batches between event-loop turns. @defaultValue 50 */
  yieldEveryMs?: number;
}

export interface TrainResult {
  model: TrainedModel;
  /** Metrics of the final weights on the validation set (NaN without one). */
  validation: EvalResult;
  /** The last complete epoch's report; undefined if stopped during the first. */
  lastEpoch: EpochReport | undefined;
  epochsCompleted: number;
  batchesRun: number;
  /** True when `shouldStop` ended training early. */
  stopped: boolean;
  elapsedMs: number;
  /** Every epoch report of the run, a resumed one's earlier epochs included. */
  curves: EpochReport[];
  /** Where the run ended (after its last batch): resuming it continues a stopped run. */
  checkpoint: () => TrainCheckpoint;
}

function checkData(name: string, d: LabeledData, dim: number, classes: number): void {
  if (d.x.length !== d.rows * dim || d.y.length !== d.rows) {
    throw new BadInput(
      `${name} set has ${d.x.length} features and ${d.y.length} labels for ${d.rows} rows of ${dim}`,
    );
  }
  for (let i = 0; i < d.rows; i++) {
    const c = d.y[i]!;
    if (c < 0 || c >= classes) {
      throw new BadInput(`${name} row ${i} has label ${c}, outside 0..${classes - 1}`);
    }
  }
}

/** Tabular rows get their missing cells filled; image bytes cannot be missing. */
function withImputation(d: LabeledData, dim: number, imp: Imputation | null): LabeledData {
  return imp && d.x instanceof Float32Array ? { ...d, x: imputeRows(d.x, dim, imp) } : d;
}

/**
 * The loss went NaN or infinite: the weights have overflowed and every later step keeps them
 * so. Training ends here rather than exporting a model that predicts nothing.
 */
function diverged(epoch: number, loss: number, params: TrainerParams): BadInput {
  const what = Number.isNaN(loss) ? 'NaN' : 'infinite';
  return new BadInput(
    `loss became ${what} at epoch ${epoch}: training diverged (learningRate ${params.learningRate} ` +
      `with ${params.optimizer} is likely too high for this data); nothing was exported`,
    { epoch, loss: String(loss) },
  );
}

/**
 * Trains a softmax regression or MLP with mini-batch SGD/Adam, shuffling every epoch.
 * Deterministic: the same params (seed included) and data give bit-identical weights.
 * Missing feature values (NaN) are imputed from the training rows (`params.impute`); a loss
 * that turns NaN or infinite rejects with BadInput "loss became NaN at epoch N: ...".
 */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const { params, dim, classes } = opts;
  if (opts.train.rows === 0) throw new BadInput('the training set is empty');
  if (classes < 2) throw new BadInput(`a classifier needs at least 2 classes, got ${classes}`);
  checkData('training', opts.train, dim, classes);
  if (opts.validation) checkData('validation', opts.validation, dim, classes);

  const imputation =
    opts.train.x instanceof Float32Array
      ? fitImputation(params.impute, opts.train.x, opts.train.rows, dim)
      : null;
  const train = withImputation(opts.train, dim, imputation);
  const validation = opts.validation && withImputation(opts.validation, dim, imputation);

  const fingerprint = JSON.stringify({ params, dim, classes, rows: train.rows });
  const resume = opts.resume;
  if (resume && resume.fingerprint !== fingerprint) {
    throw new BadInput('the checkpoint is of another run (its params or data differ)');
  }
  let rng = createRng(params.seed);
  const norm = fitNormalization(
    params.normalize,
    opts.inputKind ?? 'tabular',
    train.x,
    train.rows,
    dim,
  );
  const net =
    params.trainer === 'mlp'
      ? createMlp(dim, classes, params, rng)
      : createSoftmaxRegression(dim, classes, params, rng);

  const model: TrainedModel = {
    trainer: params.trainer,
    params,
    dim,
    classes,
    imputation,
    normalization: norm,
    layers: net.layers(),
  };
  const batchSize = Math.min(params.batchSize, train.rows);
  const xb = new Float32Array(batchSize * dim);
  const yb = new Int32Array(batchSize);
  const order = new Int32Array(train.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const yieldEveryMs = opts.yieldEveryMs ?? 50;

  // The run's position, kept outside the loops so a checkpoint can be taken between batches.
  let epoch = 1;
  let from = 0;
  /** Whether this epoch's order is drawn (its batches begun or about to be). */
  let shuffled = false;
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let trainMsBefore = 0;
  let batchesRun = 0;
  let epochsCompleted = 0;
  let curves: EpochReport[] = [];
  let elapsedBefore = 0;
  if (resume) {
    restore(net, resume, order);
    rng = createRng(params.seed, resume.rng);
    ({ epoch, from, shuffled, batchesRun, epochsCompleted } = resume);
    ({ lossSum, correct, seen, trainMs: trainMsBefore } = resume.sums);
    curves = [...resume.curves];
    elapsedBefore = resume.elapsedMs;
  }
  const started = performance.now() - elapsedBefore;
  let lastYield = performance.now();
  let stopped = false;
  let lastEpoch: EpochReport | undefined = curves[curves.length - 1];
  let epochStart = performance.now() - trainMsBefore;

  // Between batches; once an epoch's batches are all run (its report made), the position is
  // the next epoch's start, so a resume neither repeats nor skips a report.
  const checkpoint = (): TrainCheckpoint => {
    const epochDone = from >= train.rows;
    return {
      fingerprint,
      epoch: epochDone ? epoch + 1 : epoch,
      from: epochDone ? 0 : from,
      shuffled: !epochDone && shuffled,
      epochsCompleted,
      batchesRun,
      elapsedMs: performance.now() - started,
      rng: rng.state(),
      sums:
        epochDone || !shuffled
          ? { lossSum: 0, correct: 0, seen: 0, trainMs: 0 }
          : { lossSum, correct, seen, trainMs: performance.now() - epochStart },
      order: order.slice(),
      layers: net.layers().map((l) => ({ w: l.w.slice(), b: l.b.slice() })),
      optimizer: {
        steps: net.optimizerState()!.steps,
        buffers: net.optimizerState()!.buffers.map((b) => b.slice()),
      },
      curves: [...curves],
    };
  };

  for (; epoch <= params.epochs && !stopped; epoch++, from = 0, shuffled = false) {
    if (!shuffled) {
      shuffled = true;
      epochStart = performance.now();
      shuffleInPlace(order, rng);
      lossSum = 0;
      correct = 0;
      seen = 0;
    }
    for (; from < train.rows; from += batchSize) {
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
      const n = Math.min(batchSize, train.rows - from);
      gatherNormalized(train.x, dim, order, from, n, norm, xb);
      for (let r = 0; r < n; r++) yb[r] = train.y[order[from + r]!]!;
      const loss = net.trainBatch(xb, yb, n);
      if (!Number.isFinite(loss)) throw diverged(epoch, loss, params);
      lossSum += loss * n;
      correct += countCorrect(net.lastProbabilities(), yb, n, classes);
      seen += n;
      batchesRun++;
      const now = performance.now();
      if (now - lastYield >= yieldEveryMs) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
    if (stopped) break;
    const trainMs = performance.now() - epochStart;
    const val = validation ? evaluate(net, validation, norm) : { loss: NaN, accuracy: NaN };
    lastEpoch = {
      epoch,
      epochs: params.epochs,
      loss: lossSum / seen,
      trainAccuracy: correct / seen,
      valAccuracy: val.accuracy,
      valLoss: val.loss,
      samplesPerSec: (seen * 1000) / Math.max(trainMs, 1e-3),
      elapsedMs: performance.now() - started,
    };
    epochsCompleted = epoch;
    curves.push(lastEpoch);
    await opts.onEpoch?.(lastEpoch, model, checkpoint);
    lastYield = performance.now();
  }

  return {
    model,
    validation:
      lastEpoch && !stopped
        ? { loss: lastEpoch.valLoss, accuracy: lastEpoch.valAccuracy }
        : validation
          ? evaluate(net, validation, norm)
          : { loss: NaN, accuracy: NaN },
    lastEpoch,
    epochsCompleted,
    batchesRun,
    stopped,
    elapsedMs: performance.now() - started,
    curves,
    checkpoint,
  };
}

/** Puts a checkpoint's weights, optimizer moments and order in place of the fresh ones. */
function restore(net: ReturnType<typeof createMlp>, c: TrainCheckpoint, order: Int32Array): void {
  const layers = net.layers();
  const opt = net.optimizerState()!;
  const fits =
    c.layers.length === layers.length &&
    c.layers.every(
      (l, i) => l.w.length === layers[i]!.w.length && l.b.length === layers[i]!.b.length,
    ) &&
    c.optimizer.buffers.length === opt.buffers.length &&
    c.optimizer.buffers.every((b, i) => b.length === opt.buffers[i]!.length) &&
    c.order.length === order.length;
  if (!fits) throw new BadInput('the checkpoint does not fit this network');
  c.layers.forEach((l, i) => {
    layers[i]!.w.set(l.w);
    layers[i]!.b.set(l.b);
  });
  c.optimizer.buffers.forEach((b, i) => opt.buffers[i]!.set(b));
  opt.steps = c.optimizer.steps;
  order.set(c.order);
}
