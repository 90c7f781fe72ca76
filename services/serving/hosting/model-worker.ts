/**
 * Model worker entry: a model process (forked by worker-spawner.ts with an IPC channel, large
 * tensors through slot files in shared memory, see tensor-files.ts) or a worker thread of the
 * serving process (then runs arrive through shared-memory slots, see shared-slots.ts, and
 * everything else by message). Holds the onnxruntime sessions of one model group
 * (model-runtime.ts); as a process, a crash in native code takes down only this group.
 *
 * Startup time is restart time, so it imports nothing heavy: not shared/ (the entry point
 * pulls in the whole store), and protocol.ts for its types only (zod alone costs about
 * half a second to load). Errors cross as `{name, code, message}`, revived by the parent
 * with reviveError; the parent validates what comes back with the zod schemas, and this
 * side trusts its parent, whose sends are typed as ToWorker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import { ModelRuntime, serializeError as serialize } from './model-runtime.js';
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

const runtime = new ModelRuntime();

/** Set when this runs as a worker thread: the serving thread's port. */
const port = parentPort;

function send(msg: FromWorker): void {
  if (port) port.postMessage(msg);
  else process.send?.(msg);
}

/**
 * A run from serving, its inputs read from its slot file when they were put there; the answer
 * goes back through the file when it is large (tensor-files.ts), else inline.
 */
async function runAndAnswer(msg: Extract<ToWorker, { t: 'run' }> & RunFileFields): Promise<void> {
  const inputs = msg.fileInputs ? readTensors(slotFd(msg.file!), msg.fileInputs) : msg.inputs;
  const outputs = await runtime.run(msg.model, msg.gen, inputs);
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
        case 'unload':
          send(await runtime.answer(msg));
          break;
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
  void runtime
    .run(req.model, req.gen, req.inputs)
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
