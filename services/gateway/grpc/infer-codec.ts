/**
 * ModelInfer ↔ the KServe v2 binary-tensor HTTP request that serving replicas answer: typed
 * `contents` and `raw_input_contents` both become raw little-endian tensors after a JSON
 * header (`Inference-Header-Content-Length`), every output is asked for in binary, and the
 * answer goes back raw when the request was raw (or has an FP16 output), typed otherwise.
 */
import { BadInput } from '../../../shared/index.js';
import type {
  Int64,
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse,
  OutputTensor,
} from './messages.js';

type ContentsField = keyof InferTensorContents;
type Typed =
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

interface Datatype {
  bytes: number;
  /** the typed-contents field; none for FP16 (raw only) */
  field?: ContentsField;
  make: (n: number) => Typed;
  min?: number;
  max?: number;
  /** int64 and uint64 travel as decimal strings (proto-loader `longs: String`) */
  bigint?: boolean;
}

/** The datatypes serving replicas take (BYTES and BF16 are not among them). */
export const DATATYPES: Record<string, Datatype> = {
  BOOL: { bytes: 1, field: 'bool_contents', make: (n) => new Uint8Array(n) },
  UINT8: { bytes: 1, field: 'uint_contents', make: (n) => new Uint8Array(n), min: 0, max: 255 },
  UINT16: { bytes: 2, field: 'uint_contents', make: (n) => new Uint16Array(n), min: 0, max: 65535 },
  UINT32: { bytes: 4, field: 'uint_contents', make: (n) => new Uint32Array(n) },
  UINT64: {
    bytes: 8,
    field: 'uint64_contents',
    make: (n) => new BigUint64Array(n),
    bigint: true,
  },
  INT8: { bytes: 1, field: 'int_contents', make: (n) => new Int8Array(n), min: -128, max: 127 },
  INT16: {
    bytes: 2,
    field: 'int_contents',
    make: (n) => new Int16Array(n),
    min: -32768,
    max: 32767,
  },
  INT32: { bytes: 4, field: 'int_contents', make: (n) => new Int32Array(n) },
  INT64: { bytes: 8, field: 'int64_contents', make: (n) => new BigInt64Array(n), bigint: true },
  FP16: { bytes: 2, make: (n) => new Uint16Array(n) },
  FP32: { bytes: 4, field: 'fp32_contents', make: (n) => new Float32Array(n) },
  FP64: { bytes: 8, field: 'fp64_contents', make: (n) => new Float64Array(n) },
};

const SUPPORTED = Object.keys(DATATYPES).join(', ');
/** Elements per tensor, as the HTTP path's 64 MiB body limit allows at one byte each. */
const MAX_ELEMENTS = 64 * 1024 * 1024;

type JsonParams = Record<string, string | number | boolean>;

/** An int64 field as a number: decoded requests hold Long objects, plain ones strings or numbers. */
const num = (v: Int64 | boolean): number =>
  typeof v === 'object' ? Number(v.toString()) : Number(v);

/** gRPC parameters → the JSON `parameters` object (int64 values as numbers). */
function jsonParams(p: Record<string, InferParameter> | undefined): JsonParams {
  const out: JsonParams = {};
  for (const [k, v] of Object.entries(p ?? {})) {
    const choice = v.parameter_choice;
    if (!choice) continue;
    const value = v[choice];
    if (value === undefined || value === null) continue;
    out[k] =
      choice === 'int64_param' || choice === 'uint64_param' || typeof value === 'object'
        ? num(value)
        : value;
  }
  return out;
}

function shapeOf(dims: Int64[] | undefined, what: string): number[] {
  const shape = (dims ?? []).map(num);
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new BadInput(`${what} has a bad shape [${(dims ?? []).map(String).join(', ')}]`);
    }
    count *= d;
  }
  if (count > MAX_ELEMENTS) {
    throw new BadInput(`${what} has ${count} elements; at most ${MAX_ELEMENTS} are taken`);
  }
  return shape;
}

const countOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Typed contents → little-endian bytes, checking count and range. */
function contentsToBytes(
  dt: Datatype,
  datatype: string,
  contents: InferTensorContents,
  count: number,
  what: string,
): Uint8Array {
  if (!dt.field) {
    throw new BadInput(`${what}: ${datatype} has no typed contents; send it in raw_input_contents`);
  }
  for (const [field, values] of Object.entries(contents)) {
    if (field !== dt.field && Array.isArray(values) && values.length > 0) {
      throw new BadInput(`${what} is ${datatype} but carries ${field}; it takes ${dt.field}`);
    }
  }
  const values = (contents[dt.field] ?? []) as unknown[];
  if (values.length !== count) {
    throw new BadInput(
      `${what} has ${values.length} values in ${dt.field} but its shape needs ${count}`,
    );
  }
  const out = dt.make(count);
  if (dt.bigint) {
    const big = out as BigInt64Array | BigUint64Array;
    for (let i = 0; i < count; i++) big[i] = BigInt((values[i] as Int64).toString());
  } else if (dt.field === 'bool_contents') {
    for (let i = 0; i < count; i++) (out as Uint8Array)[i] = values[i] ? 1 : 0;
  } else {
    const num = out as Float32Array;
    for (let i = 0; i < count; i++) {
      const v = values[i] as number;
      if ((dt.min !== undefined && v < dt.min) || (dt.max !== undefined && v > dt.max)) {
        throw new BadInput(`${what}: value ${v} at ${i} is out of range for ${datatype}`);
      }
      num[i] = v;
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export interface HttpInfer {
  /** `/v2/models/<m>[/versions/<v>]/infer` */
  path: string;
  body: Buffer;
  headerLength: number;
  /** answer in raw_output_contents (else typed contents) */
  raw: boolean;
}

/** Checks a ModelInfer request and builds the binary HTTP request for serving. */
export function toHttpInfer(req: ModelInferRequest): HttpInfer {
  const model = req.model_name ?? '';
  if (!model) throw new BadInput('model_name is required');
  const version = req.model_version ?? '';
  const inputs = req.inputs ?? [];
  if (inputs.length === 0) throw new BadInput('inputs: at least one input is required');
  const raws = req.raw_input_contents ?? [];
  const raw = raws.length > 0;
  if (raw && raws.length !== inputs.length) {
    throw new BadInput(
      `raw_input_contents has ${raws.length} entries but there are ${inputs.length} inputs; give one per input, in order`,
    );
  }
  const blobs: Uint8Array[] = [];
  const jsonInputs = inputs.map((inp, i) => {
    const name = inp.name ?? '';
    const what = `input "${name}"`;
    if (!name) throw new BadInput(`inputs[${i}] has no name`);
    const datatype = inp.datatype ?? '';
    const dt = DATATYPES[datatype];
    if (!dt) {
      throw new BadInput(`${what} has unsupported datatype "${datatype}"; supported: ${SUPPORTED}`);
    }
    const shape = shapeOf(inp.shape, what);
    const count = countOf(shape);
    let bytes: Uint8Array;
    if (raw) {
      if (inp.contents) {
        throw new BadInput(`${what} has contents although raw_input_contents is given; use one`);
      }
      bytes = raws[i]!;
      if (bytes.length !== count * dt.bytes) {
        throw new BadInput(
          `${what}: raw_input_contents[${i}] has ${bytes.length} bytes but shape [${shape.join(', ')}] of ${datatype} needs ${count * dt.bytes}`,
        );
      }
    } else {
      bytes = contentsToBytes(dt, datatype, inp.contents ?? {}, count, what);
    }
    blobs.push(bytes);
    return {
      name,
      shape,
      datatype,
      parameters: { ...jsonParams(inp.parameters), binary_data_size: bytes.length },
    };
  });
  const outputs = (req.outputs ?? []).map((o) => ({
    name: o.name ?? '',
    parameters: { ...jsonParams(o.parameters), binary_data: true },
  }));
  const header = Buffer.from(
    JSON.stringify({
      ...(req.id ? { id: req.id } : {}),
      parameters: { ...jsonParams(req.parameters), binary_data_output: true },
      inputs: jsonInputs,
      ...(outputs.length ? { outputs } : {}),
    }),
  );
  const path =
    `/v2/models/${encodeURIComponent(model)}` +
    (version ? `/versions/${encodeURIComponent(version)}` : '') +
    '/infer';
  return {
    path,
    body: Buffer.concat([header, ...blobs]),
    headerLength: header.length,
    raw,
  };
}

interface HttpOutput {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  parameters?: { binary_data_size?: unknown };
  data?: unknown;
}

/** A JSON (non-binary) output's data → bytes; serving sends JSON only if asked, but be whole. */
function jsonDataToBytes(dt: Datatype, data: unknown): Uint8Array {
  const flat = (Array.isArray(data) ? data.flat(Infinity) : []) as (number | boolean | string)[];
  const out = dt.make(flat.length);
  if (dt.bigint) flat.forEach((v, i) => ((out as BigInt64Array)[i] = BigInt(v)));
  else flat.forEach((v, i) => ((out as Float32Array)[i] = Number(v)));
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * BYTES outputs (class names: `label`, Triton's classification strings), which serving
 * answers but never takes: raw, each element is a 4-byte little-endian length and its bytes,
 * as in the HTTP binary extension; typed, they are `bytes_contents`.
 */
const BYTES_OUT: Datatype = { bytes: 1, field: 'bytes_contents', make: (n) => new Uint8Array(n) };

function stringsToRaw(data: unknown): Uint8Array {
  const parts = (Array.isArray(data) ? data.flat(Infinity) : []).map((v) =>
    Buffer.from(String(v), 'utf8'),
  );
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function rawToElements(raw: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at + 4 <= buf.length;) {
    const n = buf.readUInt32LE(at);
    out.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/** Raw bytes → the typed contents of a datatype (copied: `bytes` may be unaligned). */
function bytesToContents(dt: Datatype, bytes: Uint8Array): InferTensorContents {
  if (dt === BYTES_OUT) return { bytes_contents: rawToElements(bytes) };
  const n = bytes.length / dt.bytes;
  const arr = dt.make(n);
  new Uint8Array(arr.buffer).set(bytes);
  let values: unknown[];
  if (dt.bigint) values = Array.from(arr as BigInt64Array, String);
  else if (dt.field === 'bool_contents') values = Array.from(arr as Uint8Array, (v) => v !== 0);
  else values = Array.from(arr as Float32Array);
  return { [dt.field!]: values };
}

/**
 * A serving replica's KServe v2 answer → ModelInferResponse. `headerLength` is the answer's
 * `Inference-Header-Content-Length` (undefined for an all-JSON answer).
 */
export function fromHttpInfer(
  body: Buffer,
  headerLength: number | undefined,
  raw: boolean,
): ModelInferResponse {
  const jsonEnd = headerLength ?? body.length;
  const head = JSON.parse(body.toString('utf8', 0, jsonEnd)) as {
    model_name?: string;
    model_version?: string;
    id?: string;
    outputs?: HttpOutput[];
  };
  let at = jsonEnd;
  const tensors: { out: OutputTensor; dt: Datatype; bytes: Uint8Array }[] = [];
  for (const o of head.outputs ?? []) {
    const datatype = String(o.datatype);
    const dt = datatype === 'BYTES' ? BYTES_OUT : DATATYPES[datatype];
    if (!dt) throw new Error(`serving answered an output of datatype ${datatype}`);
    const size = o.parameters?.binary_data_size;
    let bytes: Uint8Array;
    if (typeof size === 'number') {
      bytes = body.subarray(at, at + size);
      at += size;
    } else if (dt === BYTES_OUT) {
      bytes = stringsToRaw(o.data);
    } else {
      bytes = jsonDataToBytes(dt, o.data);
    }
    tensors.push({
      out: { name: String(o.name), datatype, shape: (o.shape as number[]) ?? [] },
      dt,
      bytes,
    });
  }
  // FP16 has no typed field, and a response is either all raw or all typed.
  const asRaw = raw || tensors.some((t) => !t.dt.field);
  return {
    model_name: head.model_name ?? '',
    model_version: head.model_version ?? '',
    id: head.id ?? '',
    outputs: tensors.map((t) =>
      asRaw ? t.out : { ...t.out, contents: bytesToContents(t.dt, t.bytes) },
    ),
    ...(asRaw ? { raw_output_contents: tensors.map((t) => t.bytes) } : {}),
  };
}
