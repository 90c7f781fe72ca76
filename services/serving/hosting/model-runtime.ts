/**
 * The onnxruntime sessions of one model group, keyed by model and generation: load (with the
 * optional calibration), run and unload. Used wherever the group is hosted: in a model process
 * or a model thread (model-worker.ts), or on serving's own thread (inline-link.ts).
 *
 * Imports nothing heavy (a model process's start-up time is its restart time): not shared/,
 * and protocol.ts for its types only. Errors leave as WireFailure, which `serializeError` turns
 * into the `{name, code, message}` the serving side revives.
 */
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import type {
  FromWorker,
  ModelIO,
  SessionChoice,
  SessionOptions,
  TensorSpec,
  ToWorker,
} from './protocol.js';
import { ELEM, isElemType, type TensorMap, type TypedData } from '../tensors/tensors.js';

/** An error in the shape the parent revives (shared/errors.ts names and codes). */
export class WireFailure extends Error {
  constructor(
    readonly errName: 'BadInput' | 'NotFound' | 'Unavailable',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function serializeError(err: unknown): { name: string; code: string; message: string } {
  if (err instanceof WireFailure)
    return { name: err.errName, code: err.code, message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}

const keyOf = (model: string, gen: number) => `${model}@${gen}`;

type Setting = Omit<SessionChoice, 'runUs' | 'candidates' | 'hosting'>;

/** Per candidate: at most this long, or this many one-row runs, whichever comes first. */
const CALIBRATE_MS = 150;
const CALIBRATE_RUNS = 50;

export class ModelRuntime {
  private readonly sessions = new Map<string, ort.InferenceSession>();
  /**
   * Runs in progress per session. A session replaced (the optimizer's version of the same
   * generation) or unloaded may still be running requests: releasing it then fails them with
   * "Session already disposed", so its release waits for the last of them.
   */
  private readonly running = new Map<ort.InferenceSession, number>();
  private readonly retiring = new Set<ort.InferenceSession>();

  /**
   * Loads a generation. With `options.calibrate`, each candidate setting is timed on one-row
   * runs and the quickest kept: a tiny model runs fastest on one thread, a large one on several,
   * and which wins depends on the machine, so it is measured where it serves.
   */
  async load(
    model: string,
    gen: number,
    bytes: Uint8Array,
    options: SessionOptions,
  ): Promise<{ io: ModelIO; session: SessionChoice }> {
    let best: { session: ort.InferenceSession; setting: Setting; us: number } | undefined;
    let io: ModelIO | undefined;
    const timed: Record<string, number> = {};
    const settings = candidates(options);
    for (const setting of settings) {
      const session = await create(model, gen, bytes, options, setting);
      io ??= {
        inputs: specs(session.inputMetadata, 'input'),
        outputs: specs(session.outputMetadata, 'output'),
      };
      await warmUp(session, io);
      const us = settings.length > 1 || options.timeRun ? await timeRuns(session, io) : 0;
      // -1: the model refused zero inputs, so the candidate could not be timed
      timed[label(setting)] = Number.isFinite(us) ? Math.round(us) : -1;
      if (!best || us < best.us) {
        if (best) await best.session.release();
        best = { session, setting, us };
      } else await session.release();
    }
    const old = this.sessions.get(keyOf(model, gen));
    this.sessions.set(keyOf(model, gen), best!.session);
    await this.retire(old);
    const runUs = Number.isFinite(best!.us) ? Math.round(best!.us) : 0;
    return {
      io: io!,
      session: { ...best!.setting, runUs, ...(settings.length > 1 ? { candidates: timed } : {}) },
    };
  }

  async unload(model: string, gen: number): Promise<void> {
    const key = keyOf(model, gen);
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    await this.retire(s);
  }

  async run(model: string, gen: number, inputs: TensorMap): Promise<TensorMap> {
    const session = this.sessions.get(keyOf(model, gen));
    if (!session) {
      const why = `generation ${gen} of model "${model}" is not loaded in this process`;
      throw new WireFailure('NotFound', 'NOT_FOUND', why);
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs))
      feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.runOn(session, feeds);
    } catch (err) {
      throw new WireFailure(
        'BadInput',
        'BAD_INPUT',
        `model "${model}" rejected the input: ${(err as Error).message}`,
      );
    }
    const out: TensorMap = {};
    for (const [name, t] of Object.entries(results)) {
      if (!isElemType(t.type)) {
        throw new WireFailure(
          'BadInput',
          'BAD_INPUT',
          `output "${name}" has unsupported type ${t.type}`,
        );
      }
      out[name] = { type: t.type, dims: [...t.dims], data: t.data as TypedData };
    }
    return out;
  }

  /**
   * A load, unload or run message answered as the wire carries it: `ok` with what it made, or
   * `fail` with the error serialised. A run uses the message's own tensors (a model process
   * reads those it was handed in a slot file itself).
   */
  async answer(msg: Extract<ToWorker, { t: 'load' | 'unload' | 'run' }>): Promise<FromWorker> {
    try {
      switch (msg.t) {
        case 'load':
          return {
            t: 'ok',
            id: msg.id,
            ...(await this.load(msg.model, msg.gen, msg.bytes, msg.options)),
          };
        case 'unload':
          await this.unload(msg.model, msg.gen);
          return { t: 'ok', id: msg.id };
        case 'run':
          return { t: 'ok', id: msg.id, outputs: await this.run(msg.model, msg.gen, msg.inputs) };
      }
    } catch (err) {
      return { t: 'fail', id: msg.id, error: serializeError(err) };
    }
  }

  /** Releases every session (each once its runs in progress are done). */
  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => this.retire(s)));
  }

  private async retire(session: ort.InferenceSession | undefined): Promise<void> {
    if (!session) return;
    if ((this.running.get(session) ?? 0) > 0) this.retiring.add(session);
    else await session.release();
  }

  private async runOn(
    session: ort.InferenceSession,
    feeds: Record<string, ort.Tensor>,
  ): Promise<ort.InferenceSession.ReturnType> {
    this.running.set(session, (this.running.get(session) ?? 0) + 1);
    try {
      return await session.run(feeds);
    } finally {
      const left = (this.running.get(session) ?? 1) - 1;
      if (left > 0) this.running.set(session, left);
      else {
        this.running.delete(session);
        if (this.retiring.delete(session)) void session.release().catch(() => undefined);
      }
    }
  }
}

function specs(meta: readonly ort.InferenceSession.ValueMetadata[], what: string): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor || !isElemType(m.type)) {
      const why = `${what} "${m.name}" has a type serving does not support`;
      throw new WireFailure('BadInput', 'BAD_INPUT', why);
    }
    return {
      name: m.name,
      type: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

async function create(
  model: string,
  gen: number,
  bytes: Uint8Array,
  options: SessionOptions,
  setting: Setting,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: options.graphOptimizationLevel,
      intraOpNumThreads: setting.intraOpNumThreads,
      interOpNumThreads: setting.interOpNumThreads,
      executionMode: setting.executionMode,
      extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
    });
  } catch (err) {
    throw new WireFailure(
      'Unavailable',
      'UNAVAILABLE',
      `generation ${gen} of model "${model}" could not be loaded: ${(err as Error).message}`,
    );
  }
}

/** What the calibration tries: the configured threads, more threads, and parallel execution. */
function candidates(options: SessionOptions): Setting[] {
  const base: Setting = {
    intraOpNumThreads: options.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  if (!options.calibrate) return [base];
  const cores = Math.min(availableParallelism(), 4);
  const all: Setting[] = [
    base,
    { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' },
    { intraOpNumThreads: cores, interOpNumThreads: 1, executionMode: 'sequential' },
    { intraOpNumThreads: 1, interOpNumThreads: 2, executionMode: 'parallel' },
  ];
  const seen = new Set<string>();
  return all.filter((c) => !seen.has(label(c)) && !!seen.add(label(c)));
}

const label = (c: Setting) => `${c.intraOpNumThreads}x${c.interOpNumThreads}:${c.executionMode}`;

/** Median µs of a one-row run; Infinity when the model refuses zero inputs. */
async function timeRuns(session: ort.InferenceSession, io: ModelIO): Promise<number> {
  const feeds = zeroFeeds(io);
  const times: number[] = [];
  const end = performance.now() + CALIBRATE_MS;
  try {
    while (times.length < CALIBRATE_RUNS && performance.now() < end) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push((performance.now() - t0) * 1000);
    }
  } catch {
    return Infinity;
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1] ?? Infinity;
}

function zeroFeeds(io: ModelIO): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of io.inputs) {
    const dims = spec.shape.map((d) => (d < 0 ? 1 : d));
    let n = 1;
    for (const d of dims) n *= d;
    feeds[spec.name] = new ort.Tensor(spec.type, ELEM[spec.type].make(n) as never, dims);
  }
  return feeds;
}

/** First runs allocate and pick kernels; pay that here rather than on a client's request. */
async function warmUp(session: ort.InferenceSession, io: ModelIO): Promise<void> {
  try {
    await session.run(zeroFeeds(io));
  } catch {
    // Some models reject all-zero inputs; they still serve real ones.
  }
}
