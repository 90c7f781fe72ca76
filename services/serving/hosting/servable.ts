/** What the protocol routes serve: a model (model-host.ts) or a pipeline (pipelines.ts). */
import type { ModelIO } from './protocol.js';
import type { TensorMap } from '../tensors/tensors.js';

export interface Description {
  /** the generation described; undefined for unversioned servables (pipelines) */
  gen: number | undefined;
  io: ModelIO;
  /** every generation that can be asked for */
  versions: number[];
  /** rows per batch when dynamic batching applies, else 0 (Triton's max_batch_size) */
  maxBatch: number;
  maxDelayMs: number;
  platform: string;
  /** class names (what a classifier's scores mean, index by index), when recorded */
  labels?: readonly string[];
}

export interface InferResult {
  gen: number | undefined;
  outputs: TensorMap;
  /** the answering generation's class names, when it records them */
  labels?: readonly string[];
}

export interface Servable {
  readonly name: string;
  /** ready to answer (for a version: loaded or loadable) */
  ready(version?: number): boolean;
  /** metadata; loads a pinned version on demand */
  describe(version?: number): Promise<Description>;
  /** inputs and outputs only (cheaper than describe: no version listing) */
  signature(version?: number): Promise<ModelIO>;
  /** generations loaded now (TF Serving's AVAILABLE versions) */
  loadedVersions(): number[];
  /** runs inference; the answer comes wholly from one generation */
  infer(inputs: TensorMap, version?: number): Promise<InferResult>;
}
