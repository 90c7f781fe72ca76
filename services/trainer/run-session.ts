import {
  BadInput,
  concatBatches,
  validationMask,
  type DatasetStore,
  type EpochPayload,
  type Logger,
  type ModelRegistry,
  type RowBatch,
  type WorkerEvent,
  parseTrainerParams,
} from '../../shared/index.js';
import { fromRowBatch, splitTrainValidation, type LabeledData } from './dataset-split.js';
import { exportOnnx, ONNX_NAMES } from './onnx-export.js';
import { trainModel } from './train-loop.js';

export interface SessionJobSpec {
  sessionId: string;
  model: string;
  dataset: { name: string; version: number };
  trainer: 'mlp' | 'softmax';
  params: Record<string, unknown>;
}

const finite = (v: number) => (Number.isFinite(v) ? v : undefined);

/** Rows whose mask byte is 1 go to validation, the rest to training, order kept. */
function splitByMask(
  data: LabeledData,
  dim: number,
  mask: Uint8Array,
): { train: LabeledData; validation: LabeledData } {
  let nVal = 0;
  for (let i = 0; i < data.rows; i++) nVal += mask[i] ?? 0;
  if (nVal === 0 || nVal === data.rows) {
    throw new BadInput(
      `the dataset's split leaves ${nVal === 0 ? 'no validation' : 'no training'} rows`,
    );
  }
  const make = (rows: number): LabeledData => ({
    x: data.x instanceof Uint8Array ? new Uint8Array(rows * dim) : new Float32Array(rows * dim),
    y: new Int32Array(rows),
    rows,
  });
  const train = make(data.rows - nVal);
  const validation = make(nVal);
  let t = 0;
  let v = 0;
  for (let i = 0; i < data.rows; i++) {
    const dst = mask[i] ? validation : train;
    const r = mask[i] ? v++ : t++;
    dst.x.set(data.x.subarray(i * dim, (i + 1) * dim), r * dim);
    dst.y[r] = data.y[i]!;
  }
  return { train, validation };
}

/**
 * One built-in training session: read the dataset version, split, train with an event per
 * epoch, export ONNX and register it as a candidate generation with metrics and lineage.
 * Returns without a generation when stopped.
 */
export async function runTrainingSession(
  spec: SessionJobSpec,
  d: {
    datasets: DatasetStore;
    registry: ModelRegistry;
    report: (e: WorkerEvent) => void;
    shouldStop: () => boolean;
    log: Logger;
  },
): Promise<{ gen: number | null; stopped: boolean }> {
  const params = parseTrainerParams({ ...spec.params, trainer: spec.trainer });
  const meta = await d.datasets.getVersion(spec.dataset.name, spec.dataset.version);
  d.report({
    kind: 'log',
    payload: {
      lines: [`training ${spec.trainer} on ${meta.name}@${meta.version}: ${meta.count} rows`],
    },
  });
  const batches: RowBatch[] = [];
  for await (const b of d.datasets.readShards(spec.dataset.name, spec.dataset.version))
    batches.push(b);
  const all = concatBatches(batches);
  const m = fromRowBatch(all);
  const classes = Math.max(m.classes, meta.labelNames?.length ?? 0);
  // The dataset's recorded split wins, so the validation rows are the ones every other
  // reader (the rows endpoint, external trainers) calls validation.
  const { train, validation } = meta.split
    ? splitByMask(
        m.data,
        m.dim,
        validationMask(meta.split.seed, meta.split.validationFraction, 0, m.data.rows),
      )
    : splitTrainValidation(m.data, m.dim, params.validationFraction, params.seed);
  const result = await trainModel({
    params,
    train,
    validation,
    dim: m.dim,
    classes,
    inputKind: m.kind,
    shouldStop: d.shouldStop,
    onEpoch: (e) => {
      const payload: EpochPayload = {
        epoch: e.epoch,
        epochs: e.epochs,
        loss: finite(e.loss) ?? null,
        trainAccuracy: finite(e.trainAccuracy),
        valAccuracy: finite(e.valAccuracy),
        valLoss: finite(e.valLoss),
        samplesPerSec: finite(e.samplesPerSec),
        elapsedMs: e.elapsedMs,
      };
      d.report({ kind: 'epoch', payload });
    },
  });
  if (result.stopped) return { gen: null, stopped: true };
  const onnx = exportOnnx(result.model, {
    name: spec.model,
    ...(meta.labelNames ? { labelNames: meta.labelNames } : {}),
    metadata: { dataset: `${meta.name}@${meta.version}`, session: spec.sessionId },
  });
  const metrics: Record<string, number> = {};
  const put = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) metrics[k] = v;
  };
  put('valAccuracy', result.validation.accuracy);
  put('valLoss', result.validation.loss);
  put('trainAccuracy', result.lastEpoch?.trainAccuracy);
  put('loss', result.lastEpoch?.loss);
  put('epochs', result.epochsCompleted);
  const gen = await d.registry.addGeneration(spec.model, {
    type: 'classifier',
    weights: Buffer.from(onnx.buffer, onnx.byteOffset, onnx.byteLength),
    metrics,
    params: { ...params },
    lineage: { dataset: meta.name, version: meta.version },
    sessionId: spec.sessionId,
    io: {
      inputs: [{ name: ONNX_NAMES.input, datatype: 'FP32', shape: [-1, m.dim] }],
      outputs: [
        { name: ONNX_NAMES.logits, datatype: 'FP32', shape: [-1, classes] },
        { name: ONNX_NAMES.probabilities, datatype: 'FP32', shape: [-1, classes] },
      ],
      labelNames: meta.labelNames ?? null,
    },
  });
  d.report({ kind: 'generation.candidate', payload: { model: spec.model, gen: gen.gen, metrics } });
  d.log.info({ model: spec.model, gen: gen.gen, metrics }, 'candidate registered');
  return { gen: gen.gen, stopped: false };
}
