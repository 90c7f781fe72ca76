/**
 * The in-memory tensor shape used between the protocol codecs, the batcher and the model
 * processes: an onnxruntime type name, dims and a typed array (bool travels as Uint8Array,
 * exactly as onnxruntime-node hands it out).
 */
export type ElemType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

export type TypedData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export interface HostTensor {
  type: ElemType;
  dims: number[];
  data: TypedData;
}

export type TensorMap = Record<string, HostTensor>;

interface ElemInfo {
  /** KServe v2 / Triton datatype name */
  v2: string;
  bytes: number;
  make: (n: number | ArrayBuffer) => TypedData;
  bigint: boolean;
  integer: boolean;
  min: number;
  max: number;
}

const INF = Number.POSITIVE_INFINITY;

export const ELEM: Record<ElemType, ElemInfo> = {
  float32: {
    v2: 'FP32',
    bytes: 4,
    make: (n) => new Float32Array(n as number),
    bigint: false,
    integer: false,
    min: -INF,
    max: INF,
  },
  float64: {
    v2: 'FP64',
    bytes: 8,
    make: (n) => new Float64Array(n as number),
    bigint: false,
    integer: false,
    min: -INF,
    max: INF,
  },
  // fp16 has no JS number form; it only travels as binary (the bits live in a Uint16Array).
  float16: {
    v2: 'FP16',
    bytes: 2,
    make: (n) => new Uint16Array(n as number),
    bigint: false,
    integer: false,
    min: -INF,
    max: INF,
  },
  int8: {
    v2: 'INT8',
    bytes: 1,
    make: (n) => new Int8Array(n as number),
    bigint: false,
    integer: true,
    min: -128,
    max: 127,
  },
  int16: {
    v2: 'INT16',
    bytes: 2,
    make: (n) => new Int16Array(n as number),
    bigint: false,
    integer: true,
    min: -32768,
    max: 32767,
  },
  int32: {
    v2: 'INT32',
    bytes: 4,
    make: (n) => new Int32Array(n as number),
    bigint: false,
    integer: true,
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
  },
  int64: {
    v2: 'INT64',
    bytes: 8,
    make: (n) => new BigInt64Array(n as number),
    bigint: true,
    integer: true,
    min: Number.MIN_SAFE_INTEGER,
    max: Number.MAX_SAFE_INTEGER,
  },
  uint8: {
    v2: 'UINT8',
    bytes: 1,
    make: (n) => new Uint8Array(n as number),
    bigint: false,
    integer: true,
    min: 0,
    max: 255,
  },
  uint16: {
    v2: 'UINT16',
    bytes: 2,
    make: (n) => new Uint16Array(n as number),
    bigint: false,
    integer: true,
    min: 0,
    max: 65535,
  },
  uint32: {
    v2: 'UINT32',
    bytes: 4,
    make: (n) => new Uint32Array(n as number),
    bigint: false,
    integer: true,
    min: 0,
    max: 2 ** 32 - 1,
  },
  uint64: {
    v2: 'UINT64',
    bytes: 8,
    make: (n) => new BigUint64Array(n as number),
    bigint: true,
    integer: true,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  },
  bool: {
    v2: 'BOOL',
    bytes: 1,
    make: (n) => new Uint8Array(n as number),
    bigint: false,
    integer: true,
    min: 0,
    max: 1,
  },
};

const BY_V2 = new Map(Object.entries(ELEM).map(([k, v]) => [v.v2, k as ElemType]));

/** KServe datatype name → element type, or undefined when unsupported (e.g. BYTES). */
export function elemFromV2(datatype: string): ElemType | undefined {
  return BY_V2.get(datatype);
}

export const V2_DATATYPES = [...BY_V2.keys()];

export function isElemType(t: string): t is ElemType {
  return t in ELEM;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A typed array of `type` viewing a copy of `bytes` (copied so alignment never matters). */
export function fromBytes(type: ElemType, bytes: Uint8Array): TypedData {
  const info = ELEM[type];
  const copy = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  const Ctor = info.make(0).constructor as new (b: ArrayBuffer) => TypedData;
  return new Ctor(copy);
}

export function toBytes(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Concatenates tensors of equal trailing dims along dim 0. */
export function concatRows(parts: HostTensor[]): HostTensor {
  const first = parts[0];
  if (!first) throw new Error('concatRows needs at least one tensor');
  if (parts.length === 1) return first;
  let rows = 0;
  let total = 0;
  for (const p of parts) {
    rows += p.dims[0] ?? 1;
    total += p.data.length;
  }
  const out = ELEM[first.type].make(total);
  let at = 0;
  for (const p of parts) {
    (out as Float32Array).set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { type: first.type, dims: [rows, ...first.dims.slice(1)], data: out };
}

/** Splits a tensor along dim 0 into consecutive pieces of `rows[i]` rows (views, no copy). */
export function splitRows(t: HostTensor, rows: number[]): HostTensor[] {
  const total = t.dims[0] ?? 0;
  const per = total === 0 ? 0 : t.data.length / total;
  const out: HostTensor[] = [];
  let at = 0;
  for (const r of rows) {
    out.push({
      type: t.type,
      dims: [r, ...t.dims.slice(1)],
      data: t.data.subarray(at * per, (at + r) * per),
    });
    at += r;
  }
  return out;
}
