/**
 * Model process entry (forked by supervisor.ts with an IPC channel). Holds the
 * onnxruntime sessions of one model group, keyed by model and generation, so a crash
 * in native code takes down only this group.
 */
import * as ort from 'onnxruntime-node';
import { AppError, BadInput, NotFound, Unavailable } from '../../shared/index.js';
import { FromWorker, ToWorker, type ModelIO, type SessionOptions, type TensorSpec } from './protocol.js';
import { ELEM, isElemType, type TensorMap, type TypedData } from './tensors.js';

const sessions = new Map<string, ort.InferenceSession>();
const keyOf = (model: string, gen: number) => `${model}@${gen}`;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function specs(meta: readonly ort.InferenceSession.ValueMetadata[], what: string): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor || !isElemType(m.type)) {
      throw new BadInput(`${what} "${m.name}" has a type serving does not support`, undefined, 'BAD_INPUT');
    }
    return {
      name: m.name,
      type: m.type,
      shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

async function load(model: string, gen: number, bytes: Uint8Array, options: SessionOptions): Promise<ModelIO> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: options.graphOptimizationLevel,
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (err) {
    throw new Unavailable(
      `generation ${gen} of model "${model}" could not be loaded: ${(err as Error).message}`,
      undefined,
      'UNAVAILABLE',
    );
  }
  const io = { inputs: specs(session.inputMetadata, 'input'), outputs: specs(session.outputMetadata, 'output') };
  await warmUp(session, io);
  const old = sessions.get(keyOf(model, gen));
  sessions.set(keyOf(model, gen), session);
  await old?.release();
  return io;
}

/** First runs allocate and pick kernels; pay that here rather than on a client's request. */
async function warmUp(session: ort.InferenceSession, io: ModelIO): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of io.inputs) {
    const dims = spec.shape.map((d) => (d < 0 ? 1 : d));
    let n = 1;
    for (const d of dims) n *= d;
    feeds[spec.name] = new ort.Tensor(spec.type, ELEM[spec.type].make(n) as never, dims);
  }
  try {
    await session.run(feeds);
  } catch {
    // Some models reject all-zero inputs; they still serve real ones.
  }
}

async function run(model: string, gen: number, inputs: TensorMap): Promise<TensorMap> {
  const session = sessions.get(keyOf(model, gen));
  if (!session) throw new NotFound(`generation ${gen} of model "${model}" is not loaded in this process`);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds);
  } catch (err) {
    throw new BadInput(`model "${model}" rejected the input: ${(err as Error).message}`);
  }
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(results)) {
    if (!isElemType(t.type)) throw new BadInput(`output "${name}" has unsupported type ${t.type}`);
    out[name] = { type: t.type, dims: [...t.dims], data: t.data as TypedData };
  }
  return out;
}

function serialize(err: unknown) {
  if (err instanceof AppError) return { name: err.name, code: err.code, message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
}

process.on('message', (raw) => {
  const parsed = ToWorker.safeParse(raw);
  if (!parsed.success) return; // nothing to answer without an id; the parent never sends these
  const msg = parsed.data;
  void (async () => {
    try {
      switch (msg.t) {
        case 'load':
          send({ t: 'ok', id: msg.id, io: await load(msg.model, msg.gen, msg.bytes, msg.options) });
          break;
        case 'unload': {
          const key = keyOf(msg.model, msg.gen);
          const s = sessions.get(key);
          sessions.delete(key);
          await s?.release();
          send({ t: 'ok', id: msg.id });
          break;
        }
        case 'run':
          send({ t: 'ok', id: msg.id, outputs: await run(msg.model, msg.gen, msg.inputs) });
          break;
      }
    } catch (err) {
      send({ t: 'fail', id: msg.id, error: serialize(err) });
    }
  })();
});

// The parent owns this process's life: when the channel goes, so do we.
process.on('disconnect', () => process.exit(0));
send({ t: 'hello', pid: process.pid });
