/** JSON numbers ↔ typed arrays, shared by the KServe and TF Serving codecs. */
import { BadInput } from '../../../shared/errors.js';
import { ELEM, type ElemType, type HostTensor, type TypedData } from '../tensors/tensors.js';

/** Flattens nested arrays row-major and checks they are not ragged; returns values and shape. */
export function flattenNested(
  value: unknown,
  what: string,
): { values: unknown[]; shape: number[] } {
  // The common case, a flat list of scalars, is taken as it is: no copy.
  if (Array.isArray(value) && !Array.isArray(value[0])) {
    for (const v of value) {
      if (Array.isArray(v))
        throw new BadInput(`${what} is ragged: nested deeper than its first element`);
    }
    return { values: value as unknown[], shape: [value.length] };
  }
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  if (shape.length === 0) return { values: [value], shape };
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      if (Array.isArray(v))
        throw new BadInput(`${what} is ragged: nested deeper than its first element`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new BadInput(`${what} is ragged: at depth ${depth} expected ${shape[depth]} elements`);
    }
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { values, shape };
}

const FP32_MAX = 3.4028234663852886e38;

/**
 * The fast path for the common body: float data, flat or nested exactly as `shape` says,
 * every element a finite number that fits the type. Writes straight into the typed array,
 * with no flattened copy and one check per element; anything else (nulls, other nesting,
 * a bad element) returns undefined, and the checked path (flattenNested, toTyped) decodes
 * it or names what is wrong.
 */
export function fastFloats(
  type: ElemType,
  data: unknown,
  shape: readonly number[],
  count: number,
): Float32Array | Float64Array | undefined {
  if ((type !== 'float32' && type !== 'float64') || !Array.isArray(data)) return undefined;
  const out = type === 'float32' ? new Float32Array(count) : new Float64Array(count);
  const limit = type === 'float32' ? FP32_MAX : Number.MAX_VALUE;
  let k = 0;
  const leaf = (v: unknown[]): boolean => {
    if (k + v.length > count) return false;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      // NaN and ±Infinity fail the range test too
      if (typeof x !== 'number' || !(x <= limit && x >= -limit)) return false;
      out[k++] = x;
    }
    return true;
  };
  const nested = (v: unknown[], depth: number): boolean => {
    if (v.length !== shape[depth]) return false;
    if (depth === shape.length - 1) return leaf(v);
    for (const row of v) if (!Array.isArray(row) || !nested(row, depth + 1)) return false;
    return true;
  };
  const ok = Array.isArray(data[0]) ? nested(data, 0) : leaf(data);
  return ok && k === count ? out : undefined;
}

/**
 * A JSON value as an error message may quote it: short ones whole, others by what they are,
 * since a client's mistake can be megabytes (a whole request object where a number goes).
 */
export function brief(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 39)}…` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    const shown = keys.slice(0, 4).map((k) => JSON.stringify(k.slice(0, 40)));
    return `an object with ${keys.length > 4 ? `${shown.join(', ')}, ...` : shown.join(', ') || 'no keys'}`;
  }
  return typeof v;
}

/**
 * Fills a typed array of `type` from JSON values, rejecting values the type cannot hold. A
 * float element may be `null`: JSON has no NaN, so null stands for a missing value (NaN),
 * which models that impute (the built-in trainers' exports do) fill in. An infinite element
 * came from a literal too large for a double (JSON.parse makes `1e309` Infinity, and the
 * answer would carry `null`), so it is refused unless `infinityTokens` says the client wrote
 * `Infinity` itself (TF Serving's lenient JSON); so is a finite one beyond FP32's range.
 */
export function toTyped(
  type: ElemType,
  values: readonly unknown[],
  what: string,
  opts: { infinityTokens?: boolean } = {},
): TypedData {
  const info = ELEM[type];
  if (type === 'float16') throw new BadInput(`${what}: FP16 tensors must be sent as binary data`);
  const out = info.make(values.length);
  if (type === 'bool') {
    const o = out as Uint8Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === true || v === 1) o[i] = 1;
      else if (v === false || v === 0) o[i] = 0;
      else throw new BadInput(`${what}: element ${i} is ${brief(v)}, expected true or false`);
    }
    return out;
  }
  if (!info.integer) {
    const o = out as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null) o[i] = NaN;
      else if (typeof v === 'number') {
        if (v === Infinity || v === -Infinity) {
          if (!opts.infinityTokens) throw overflow(what, i, 'a 64-bit float');
        } else if (type === 'float32' && Number.isFinite(v) && !Number.isFinite(Math.fround(v))) {
          throw overflow(what, i, 'FP32');
        }
        o[i] = v;
      } else throw new BadInput(`${what}: element ${i} is ${brief(v)}, expected a number or null`);
    }
    return out;
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < info.min || v > info.max) {
      throw new BadInput(
        `${what}: element ${i} is ${brief(v)}, expected an integer that fits ${info.v2}`,
      );
    }
  }
  if (info.bigint) {
    const o = out as BigInt64Array;
    for (let i = 0; i < values.length; i++) o[i] = BigInt(values[i] as number);
  } else {
    (out as Int32Array).set(values as number[]);
  }
  return out;
}

function overflow(what: string, i: number, range: string): BadInput {
  return new BadInput(`${what}: element ${i} is a number too large for ${range}`);
}

/** Plain JS values of a tensor, flat (bool → boolean, 64-bit ints → number). */
export function toPlain(t: HostTensor): (number | boolean)[] {
  if (t.type === 'bool') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  if (ELEM[t.type].bigint) return Array.from(t.data as BigInt64Array, Number);
  return Array.from(t.data as Float32Array);
}

function token(v: number | boolean): string {
  if (typeof v === 'boolean' || Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * Nested JSON text of a tensor (or of rows `from..to` of it), written directly. Non-finite
 * floats become the bare NaN/Infinity tokens TF Serving clients accept.
 */
export function nestedJson(
  t: HostTensor,
  from = 0,
  to = t.dims[0] ?? 1,
  dropFirstDim = false,
): string {
  const flat = toPlain(t);
  const dims = t.dims;
  if (dims.length === 0) return token(flat[0] ?? 0);
  const rowSize = flat.length / Math.max(dims[0]!, 1);
  const inner = (offset: number, depth: number): string => {
    if (depth === dims.length) return token(flat[offset]!);
    const stride = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    const parts: string[] = [];
    for (let i = 0; i < dims[depth]!; i++) parts.push(inner(offset + i * stride, depth + 1));
    return `[${parts.join(',')}]`;
  };
  if (dropFirstDim) return inner(from * rowSize, 1);
  const rows: string[] = [];
  for (let r = from; r < to; r++) rows.push(inner(r * rowSize, 1));
  return `[${rows.join(',')}]`;
}
