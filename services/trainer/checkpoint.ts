import { BadInput } from '../../shared/index.js';
import type { RngState } from './rng.js';
import type { EpochReport } from './train-loop.js';

/**
 * Where a training run stands between two batches: enough to continue it bit for bit in
 * another process (weights, optimizer moments, the shuffled order and generator, the epoch's
 * running sums) and the curves reported so far.
 */
export interface TrainCheckpoint {
  /** What the run was: params, data shape. A checkpoint of another run is not resumed. */
  fingerprint: string;
  /** The epoch in progress, 1-based. */
  epoch: number;
  /** The next batch starts at this row of `order` (0: the epoch has not started). */
  from: number;
  /** Whether the epoch's order is drawn already (a resume must not draw it again). */
  shuffled: boolean;
  epochsCompleted: number;
  batchesRun: number;
  /** Training time so far, which the resumed run's `elapsedMs` continues from. */
  elapsedMs: number;
  rng: RngState;
  /** The epoch in progress: its loss sum, correct count, rows seen and training time. */
  sums: { lossSum: number; correct: number; seen: number; trainMs: number };
  order: Int32Array;
  layers: Array<{ w: Float32Array; b: Float32Array }>;
  optimizer: { steps: number; buffers: Float32Array[] };
  curves: EpochReport[];
}

const MAGIC = 'SWMLCKP1';
/** The most epoch reports a checkpoint keeps (a run of more keeps its last ones). */
export const MAX_CURVE_POINTS = 10_000;

interface Header extends Omit<TrainCheckpoint, 'order' | 'layers' | 'optimizer'> {
  /** Float32 lengths of each layer's w and b, then each optimizer buffer. */
  layerLengths: Array<[number, number]>;
  optimizerSteps: number;
  bufferLengths: number[];
  orderLength: number;
}

/**
 * The checkpoint as bytes: magic, a uint32 header length, the JSON header, then the arrays,
 * each starting on a 4-byte boundary so they can be read in place.
 */
export function encodeCheckpoint(c: TrainCheckpoint): Buffer {
  const header: Header = {
    fingerprint: c.fingerprint,
    epoch: c.epoch,
    from: c.from,
    shuffled: c.shuffled,
    epochsCompleted: c.epochsCompleted,
    batchesRun: c.batchesRun,
    elapsedMs: c.elapsedMs,
    rng: c.rng,
    sums: c.sums,
    curves: c.curves.slice(-MAX_CURVE_POINTS),
    layerLengths: c.layers.map((l) => [l.w.length, l.b.length]),
    optimizerSteps: c.optimizer.steps,
    bufferLengths: c.optimizer.buffers.map((b) => b.length),
    orderLength: c.order.length,
  };
  const json = Buffer.from(JSON.stringify(header));
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  const arrays: ArrayBufferView[] = [
    ...c.layers.flatMap((l) => [l.w, l.b]),
    ...c.optimizer.buffers,
    c.order,
  ];
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length + pad);
  return Buffer.concat([
    Buffer.from(MAGIC),
    len,
    json,
    Buffer.alloc(pad, 0x20),
    ...arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
  ]);
}

/** Reads bytes written by `encodeCheckpoint`; BadInput when they are not one. */
export function decodeCheckpoint(bytes: Uint8Array): TrainCheckpoint {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new BadInput('not a trainer checkpoint');
  }
  const headerLen = buf.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4;
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', at, at + headerLen)) as Header;
  } catch {
    throw new BadInput('trainer checkpoint header is not JSON');
  }
  at += headerLen;
  // Copied out: the bytes may not be 4-byte aligned where they lie, and the run keeps them.
  const take = <T extends Float32Array | Int32Array>(n: number, Kind: new (n: number) => T): T => {
    const end = at + n * 4;
    if (end > buf.length) throw new BadInput('trainer checkpoint is truncated');
    const out = new Kind(n);
    Buffer.from(out.buffer).set(buf.subarray(at, end));
    at = end;
    return out;
  };
  const layers = header.layerLengths.map(([w, b]) => ({
    w: take(w, Float32Array),
    b: take(b, Float32Array),
  }));
  const buffers = header.bufferLengths.map((n) => take(n, Float32Array));
  const order = take(header.orderLength, Int32Array);
  if (at !== buf.length) throw new BadInput('trainer checkpoint has trailing bytes');
  return {
    fingerprint: header.fingerprint,
    epoch: header.epoch,
    from: header.from,
    shuffled: header.shuffled,
    epochsCompleted: header.epochsCompleted,
    batchesRun: header.batchesRun,
    elapsedMs: header.elapsedMs,
    rng: header.rng,
    sums: header.sums,
    curves: header.curves,
    layers,
    optimizer: { steps: header.optimizerSteps, buffers },
    order,
  };
}
