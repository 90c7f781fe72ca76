import {
  concatBatches,
  type DatasetStore,
  type EpochPayload,
  type Logger,
  type ModelRegistry,
  type RowBatch,
  type WorkerEvent,
  parseTrainerParams,
} from '../../shared/index.js';
import { imputationRecord } from './imputation.js';
import { ONNX_NAMES } from './onnx-export.js';
import { trainAndExport } from './train-and-export.js';

export interface SessionJobSpec {
  sessionId: string;
  model: string;
  dataset: { name: string; version: number };
  trainer: 'mlp' | 'softmax';
  params: Record<string, unknown>;
}

const finite = (v: number) => (Number.isFinite(v) ? v : undefined);

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
  // Parsed here too so that bad params fail before the dataset is read.
  const paramsInput = { ...spec.params, trainer: spec.trainer };
  parseTrainerParams(paramsInput);
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
  const result = await trainAndExport(concatBatches(batches), paramsInput, {
    name: spec.model,
    ...(meta.labelNames ? { labelNames: meta.labelNames } : {}),
    metadata: { dataset: `${meta.name}@${meta.version}`, session: spec.sessionId },
    // The dataset's recorded split wins, so the validation rows are the ones every other
    // reader (the rows endpoint, external trainers) calls validation.
    ...(meta.split ? { split: meta.split } : {}),
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
  const { onnx, dim, classes, params, model } = result;
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
    ...(model.imputation ? { extra: { imputation: imputationRecord(model.imputation) } } : {}),
    io: {
      inputs: [{ name: ONNX_NAMES.input, datatype: 'FP32', shape: [-1, dim] }],
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
