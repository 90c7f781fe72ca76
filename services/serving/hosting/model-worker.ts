/**
 * Model worker entry: a model process (forked by worker-spawner.ts with an IPC channel, large
 * tensors through slot files in shared memory, see tensor-files.ts) or a worker thread of the
 * serving process (then runs arrive through shared-memory slots, see shared-slots.ts, and
 * everything else by message). Holds the onnxruntime sessions of one model group, keyed by
 * model and generation; as a process, a crash in native code takes down only this group.
 *
 * Startup time is restart time, so it imports nothing heavy: not shared/ (the entry point
 * pulls in the whole store), and protocol.ts for its types only (zod alone costs about
 * half a second to load). Errors cross as `{name, code, message}`, revived by the parent
 * with reviveError; the parent validates what comes back with the zod schemas, and this
 * side trusts its parent, whose sends are typed as ToWorker.
 */
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import {
  FromWorker,
  ToWorker,
  type ModelIO,
  type SessionChoice,
  type SessionOptions,
  type TensorSpec,
} from './protocol.js';
import { ELEM, isElemType, type TensorMap, type TypedData } from '../tensors/tensors.js';
import {
  BELL_REPLY,
  BELL_REQUEST,
  control,
  isSlotMessage,
  readRequest,
  REQUEST,
  TAKEN,
  waitAsync,
  writeReply,
  type SlotMessage,
} from './shared-slots.js';
import {
  FILE_MIN_BYTES,
  readTensors,
  slotFd,
  tensorBytes,
  writeTensors,
  type FileReply,
  type RunFileFields,
} from './tensor-files.js';

/** An error in the shape the parent revives (shared/errors.ts names and codes). */
class WireFailure extends Error {
  constructor(
    readonly errName: 'BadInput' | 'NotFound' | 'Unavailable',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const sessions = new Map<string, ort.InferenceSession>();
const keyOf = (model: string, gen: number) => `${model}@${gen}`;

/**
 * Runs in progress per session. A session replaced (the optimizer's version of the same
 * generation) or unloaded may still be running requests: releasing it then fails them with
 * "Session already disposed", so its release waits for the last of them.
 */
const running = new Map<ort.InferenceSession, number>();
const retiring = new Set<ort.InferenceSession>();

async function retire(session: ort.InferenceSession | undefined): Promise<void> {
  if (!session) return;
  if ((running.get(session) ?? 0) > 0) retiring.add(session);
  else await session.release();
}

async function runOn(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.ReturnType> {
  running.set(session, (running.get(session) ?? 0) + 1);
  try {
    return await session.run(feeds);
  } finally {
    const left = (running.get(session) ?? 1) - 1;
    if (left > 0) running.set(session, left);
    else {
      running.delete(session);
      if (retiring.delete(session)) void session.release().catch(() => undefined);
    }
  }
}

/** Set when this runs as a worker thread: the serving thread's port. */
const port = parentPort;

function send(msg: FromWorker): void {
  if (port) port.postMessage(msg);
  else process.send?.(msg);
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

type Setting = Omit<SessionChoice, 'runUs' | 'candidates'>;

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

/** Per candidate: at most this long, or this many one-row runs, whichever comes first. */
const CALIBRATE_MS = 150;
const CALIBRATE_RUNS = 50;

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

/**
 * Loads a generation. With `options.calibrate`, each candidate setting is timed on one-row
 * runs and the quickest kept: a tiny model runs fastest on one thread, a large one on several,
 * and which wins depends on the machine, so it is measured where it serves.
 */
async function load(
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
  const old = sessions.get(keyOf(model, gen));
  sessions.set(keyOf(model, gen), best!.session);
  await retire(old);
  const runUs = Number.isFinite(best!.us) ? Math.round(best!.us) : 0;
  return {
    io: io!,
    session: { ...best!.setting, runUs, ...(settings.length > 1 ? { candidates: timed } : {}) },
  };
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

async function run(model: string, gen: number, inputs: TensorMap): Promise<TensorMap> {
  const session = sessions.get(keyOf(model, gen));
  if (!session) {
    const why = `generation ${gen} of model "${model}" is not loaded in this process`;
    throw new WireFailure('NotFound', 'NOT_FOUND', why);
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs))
    feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await runOn(session, feeds);
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
 * A run from serving, its inputs read from its slot file when they were put there; the answer
 * goes back through the file when it is large (tensor-files.ts), else inline.
 */
async function runAndAnswer(msg: Extract<ToWorker, { t: 'run' }> & RunFileFields): Promise<void> {
  const inputs = msg.fileInputs ? readTensors(slotFd(msg.file!), msg.fileInputs) : msg.inputs;
  const outputs = await run(msg.model, msg.gen, inputs);
  if (msg.file && tensorBytes(outputs) >= FILE_MIN_BYTES) {
    try {
      const reply: FileReply = {
        t: 'ok',
        id: msg.id,
        fileOutputs: writeTensors(slotFd(msg.file), outputs),
      };
      process.send?.(reply);
      return;
    } catch {
      // no room in shared memory: the answer goes inline
    }
  }
  send({ t: 'ok', id: msg.id, outputs });
}

function serialize(err: unknown) {
  if (err instanceof WireFailure)
    return { name: err.errName, code: err.code, message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}

/**
 * A deliberate failure, for the containment tests: an uncaught exception, or heap exhaustion
 * (a thread dies at its resourceLimits; a process at V8's heap limit).
 */
function fault(how: 'throw' | 'oom'): void {
  if (how === 'throw') {
    setImmediate(() => {
      throw new Error('fault injected: uncaught exception in the model worker');
    });
    return;
  }
  const hog: number[][] = [];
  setImmediate(() => {
    for (;;) hog.push(new Array<number>(1 << 20).fill(hog.length));
  });
}

function onMessage(raw: unknown): void {
  if (port && isSlotMessage(raw)) {
    slots[raw.index] = raw.sab;
    serveSlot(raw.index);
    return;
  }
  const msg = raw as ToWorker;
  if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'number') return;
  void (async () => {
    try {
      switch (msg.t) {
        case 'load':
          send({
            t: 'ok',
            id: msg.id,
            ...(await load(msg.model, msg.gen, msg.bytes, msg.options)),
          });
          break;
        case 'unload': {
          const key = keyOf(msg.model, msg.gen);
          const s = sessions.get(key);
          sessions.delete(key);
          await retire(s);
          send({ t: 'ok', id: msg.id });
          break;
        }
        case 'run':
          await runAndAnswer(msg);
          break;
        case 'fault':
          send({ t: 'ok', id: msg.id });
          fault(msg.how);
          break;
      }
    } catch (err) {
      send({ t: 'fail', id: msg.id, error: serialize(err) });
    }
  })();
}

// --- thread hosting: runs through shared-memory slots -------------------------------------

const slots: SharedArrayBuffer[] = [];
const bells = port ? new Int32Array((workerData as { bells: SharedArrayBuffer }).bells) : undefined;

/** Runs the request in slot `index` once (whoever takes it first), answering in the slot. */
function serveSlot(index: number): void {
  const slot = slots[index];
  if (!slot || Atomics.compareExchange(control(slot), 0, REQUEST, TAKEN) !== REQUEST) return;
  const req = readRequest(slot);
  void run(req.model, req.gen, req.inputs)
    .then(
      (outputs) => ({ id: req.id, outputs }),
      (err: unknown) => ({ id: req.id, error: serialize(err) }),
    )
    .then((reply) => {
      const written = writeReply(slot, reply);
      if (written !== slot) {
        slots[index] = written;
        port!.postMessage({ t: 'slot', index, sab: written } satisfies SlotMessage);
        return;
      }
      Atomics.add(bells!, BELL_REPLY, 1);
      Atomics.notify(bells!, BELL_REPLY);
    });
}

let seenRequest = 0;
function watchRequests(): void {
  const w = waitAsync(bells!, BELL_REQUEST, seenRequest);
  if (w.async) void w.value.then(onRequestBell);
  else setImmediate(onRequestBell);
}

function onRequestBell(): void {
  // Read before scanning: a request rung after this read makes the next wait return at once.
  seenRequest = Atomics.load(bells!, BELL_REQUEST);
  for (let i = 0; i < slots.length; i++) serveSlot(i);
  watchRequests();
}

if (port) {
  port.on('message', onMessage);
  watchRequests();
} else {
  process.on('message', onMessage);
  // The parent owns this process's life: when the channel goes, so do we.
  process.on('disconnect', () => process.exit(0));
}
send({ t: 'hello', pid: process.pid });
