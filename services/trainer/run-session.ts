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
import { decodeCheckpoint, encodeCheckpoint, type TrainCheckpoint } from './checkpoint.js';
import type { CheckpointChannel } from './checkpoint-client.js';
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
    /** Where checkpoints go; without one the session cannot resume. */
    checkpoints?: CheckpointChannel;
    /** Least time between two checkpoints (ms; 0: at every epoch's end). */
    checkpointEveryMs?: number;
  },
): Promise<{ gen: number | null; stopped: boolean; resumedAt?: { epoch: number; from: number } }> {
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
  const resume = await loadCheckpoint(d);
  if (resume) {
    d.report({
      kind: 'log',
      payload: {
        lines: [
          `resuming from the checkpoint at epoch ${resume.epoch}, row ${resume.from} (${resume.epochsCompleted} epochs done)`,
        ],
      },
    });
  }
  const everyMs = d.checkpointEveryMs ?? 60_000;
  let lastSave = performance.now();
  // Whether the session has a checkpoint that must go once the work is done.
  let holdsCheckpoint = resume !== undefined;
  const save = async (c: TrainCheckpoint) => {
    const bytes = encodeCheckpoint(c);
    try {
      await d.checkpoints!.save(bytes);
      lastSave = performance.now();
      holdsCheckpoint = true;
      d.log.debug({ epoch: c.epoch, from: c.from, bytes: bytes.length }, 'checkpoint saved');
    } catch (err) {
      // Training goes on: the session only loses how far back a resume would start.
      d.log.warn({ err, bytes: bytes.length }, 'checkpoint not saved');
    }
  };
  const result = await trainAndExport(concatBatches(batches), paramsInput, {
    name: spec.model,
    ...(meta.labelNames ? { labelNames: meta.labelNames } : {}),
    metadata: { dataset: `${meta.name}@${meta.version}`, session: spec.sessionId },
    // The dataset's recorded split wins, so the validation rows are the ones every other
    // reader (the rows endpoint, external trainers) calls validation.
    ...(meta.split ? { split: meta.split } : {}),
    shouldStop: d.shouldStop,
    ...(resume ? { resume } : {}),
    onEpoch: async (e, _model, checkpoint) => {
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
      if (d.checkpoints && e.epoch < e.epochs && performance.now() - lastSave >= everyMs) {
        await save(checkpoint());
      }
    },
  });
  const resumedAt = resume ? { resumedAt: { epoch: resume.epoch, from: resume.from } } : {};
  // Stopped (by the platform, or by its node going away): where it stopped, for a resume.
  if (result.stopped) {
    if (d.checkpoints) await save(result.checkpoint());
    return { gen: null, stopped: true, ...resumedAt };
  }
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
  // Done: a checkpoint left behind would tell the platform to resume the session.
  // Only when there is one: clearing needs the event handler, which may be restarting now.
  if (holdsCheckpoint) await d.checkpoints?.clear();
  return { gen: gen.gen, stopped: false, ...resumedAt };
}

/** The session's checkpoint, or undefined (none, or unreadable: the run starts over). */
async function loadCheckpoint(d: {
  checkpoints?: CheckpointChannel;
  log: Logger;
}): Promise<TrainCheckpoint | undefined> {
  const bytes = await d.checkpoints?.load();
  if (!bytes) return undefined;
  try {
    return decodeCheckpoint(bytes);
  } catch (err) {
    d.log.warn({ err }, 'checkpoint unreadable: training starts over');
    return undefined;
  }
}
