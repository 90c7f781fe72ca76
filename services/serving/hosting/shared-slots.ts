/**
 * The shared-memory layout of a thread-hosted model group: requests and answers travel through
 * `SharedArrayBuffer` slots instead of a structured-clone message, so a tensor is copied into
 * shared memory and, on the model's side, out of it once more (onnxruntime-node refuses typed
 * arrays over shared memory): two memcpys, no serialisation and no pipe.
 *
 * A slot: four Int32 words of control, then a JSON header (model, generation, tensor names,
 * types, dims and byte ranges, or an error), then the tensor bytes, each 8-byte aligned.
 * Used by both ends (the serving thread and the model thread), so it imports nothing heavy.
 */
import { ELEM, type ElemType, type TensorMap, type TypedData } from '../tensors/tensors.js';

/** Slot states (control word 0). */
export const FREE = 0;
export const REQUEST = 1;
export const TAKEN = 2;
export const REPLY = 3;

/** A slot handed over by message (either way): new, or replaced by a bigger one. */
export interface SlotMessage {
  t: 'slot';
  index: number;
  sab: SharedArrayBuffer;
}

export const isSlotMessage = (m: unknown): m is SlotMessage =>
  typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'slot';

type WaitResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

/** `Atomics.waitAsync` (Node 16 and later; typed only in es2024's lib, newer than ours). */
export function waitAsync(bells: Int32Array, index: number, seen: number): WaitResult {
  return (Atomics as unknown as { waitAsync: (...a: unknown[]) => WaitResult }).waitAsync(
    bells,
    index,
    seen,
  );
}

/** Doorbells (Int32 words of a small shared buffer): requests rung, answers rung. */
export const BELL_REQUEST = 0;
export const BELL_REPLY = 1;

const CONTROL_BYTES = 16;
/** A slot's first size; one that a request or answer outgrows is replaced by a bigger one. */
export const MIN_SLOT_BYTES = 64 * 1024;

type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TypedData;
const ctors = new Map<ElemType, Ctor>();
function ctorOf(type: ElemType): Ctor {
  let c = ctors.get(type);
  if (!c) {
    c = ELEM[type].make(0).constructor as Ctor;
    ctors.set(type, c);
  }
  return c;
}

/** name, type, dims, byte offset, byte length */
type TensorEntry = [string, ElemType, number[], number, number];

export interface SlotRequest {
  id: number;
  model: string;
  gen: number;
  inputs: TensorMap;
}

export interface WireFailureShape {
  name: string;
  code: string;
  message: string;
}

export type SlotReply =
  { id: number; outputs: TensorMap } | { id: number; error: WireFailureShape };

const align8 = (n: number) => (n + 7) & ~7;

/** Bytes a slot needs for this header and these tensors. */
function layout(tensors: TensorMap, headerOf: (entries: TensorEntry[]) => string) {
  // Offsets are relative to the start of the data area, which follows the header; the header
  // length is only known once the offsets are in it, so the data area starts at a fixed
  // 8-aligned position after the header.
  const entries: TensorEntry[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    entries.push([name, t.type, t.dims, off, t.data.byteLength]);
    off = align8(off + t.data.byteLength);
  }
  const header = Buffer.from(headerOf(entries));
  const dataStart = align8(CONTROL_BYTES + header.length);
  return { entries, header, dataStart, total: dataStart + off };
}

/** A slot size for `need` bytes: a power of two, at least MIN_SLOT_BYTES. */
export function slotSize(need: number): number {
  let size = MIN_SLOT_BYTES;
  while (size < need) size *= 2;
  return size;
}

function write(
  slot: SharedArrayBuffer,
  tensors: TensorMap,
  headerOf: (entries: TensorEntry[]) => string,
  state: number,
): SharedArrayBuffer {
  const { entries, header, dataStart, total } = layout(tensors, headerOf);
  const target = total <= slot.byteLength ? slot : new SharedArrayBuffer(slotSize(total));
  const bytes = new Uint8Array(target);
  bytes.set(header, CONTROL_BYTES);
  for (const [name, , , off] of entries) {
    const d = tensors[name]!.data;
    bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), dataStart + off);
  }
  const ctl = new Int32Array(target, 0, 4);
  ctl[1] = header.length;
  Atomics.store(ctl, 0, state);
  return target;
}

/**
 * Writes a request into `slot` and marks it REQUEST. Returns the slot written: `slot` itself, or
 * a new, bigger buffer when the request did not fit (the caller hands that one over).
 */
export function writeRequest(slot: SharedArrayBuffer, req: SlotRequest): SharedArrayBuffer {
  return write(
    slot,
    req.inputs,
    (t) => JSON.stringify({ id: req.id, m: req.model, g: req.gen, t }),
    REQUEST,
  );
}

/** Writes an answer (outputs or an error) and marks the slot REPLY; may return a bigger slot. */
export function writeReply(slot: SharedArrayBuffer, reply: SlotReply): SharedArrayBuffer {
  if ('error' in reply) {
    return write(slot, {}, () => JSON.stringify({ id: reply.id, e: reply.error }), REPLY);
  }
  return write(slot, reply.outputs, (t) => JSON.stringify({ id: reply.id, t }), REPLY);
}

function header(slot: SharedArrayBuffer): { h: Record<string, unknown>; dataStart: number } {
  const len = new Int32Array(slot, 0, 4)[1]!;
  const h = JSON.parse(Buffer.from(slot, CONTROL_BYTES, len).toString()) as Record<string, unknown>;
  return { h, dataStart: align8(CONTROL_BYTES + len) };
}

/** Tensors of a slot, copied out of shared memory. */
function tensorsOf(slot: SharedArrayBuffer, entries: TensorEntry[], dataStart: number) {
  const out: TensorMap = {};
  for (const [name, type, dims, off, len] of entries) {
    const C = ctorOf(type);
    const n = len / ELEM[type].bytes;
    const view = new C(slot, dataStart + off, n);
    out[name] = { type, dims, data: view.slice() };
  }
  return out;
}

/**
 * Reads a request, copying the tensors out: onnxruntime-node refuses typed arrays over shared
 * memory ("Invalid argument"), so the model thread pays one memcpy per input, still no
 * serialisation.
 */
export function readRequest(slot: SharedArrayBuffer): SlotRequest {
  const { h, dataStart } = header(slot);
  return {
    id: h.id as number,
    model: h.m as string,
    gen: h.g as number,
    inputs: tensorsOf(slot, h.t as TensorEntry[], dataStart),
  };
}

/** Reads an answer, copying the tensors out so the slot can take the next request. */
export function readReply(slot: SharedArrayBuffer): SlotReply {
  const { h, dataStart } = header(slot);
  if (h.e) return { id: h.id as number, error: h.e as WireFailureShape };
  return { id: h.id as number, outputs: tensorsOf(slot, h.t as TensorEntry[], dataStart) };
}

/** The slot's state word. */
export function control(slot: SharedArrayBuffer): Int32Array {
  return new Int32Array(slot, 0, 4);
}
