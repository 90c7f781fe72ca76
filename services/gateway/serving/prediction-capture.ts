import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger, Prediction, PredictionOutput } from '../../../shared/index.js';

export interface InferenceCall {
  protocol: 'kserve' | 'tfserving';
  model: string;
  /** the generation named in the path, if any */
  version?: number;
}

const KSERVE = /^\/v2\/models\/([^/?]+)(?:\/versions\/(\d+))?\/infer\/?(?:\?|$)/;
const TFSERVING = /^\/v1\/models\/([^/:?]+)(?:\/versions\/(\d+))?:predict\/?(?:\?|$)/;

/** The model a predict path addresses, or undefined for every other inference path. */
export function parseInferencePath(path: string): InferenceCall | undefined {
  const m = KSERVE.exec(path) ?? TFSERVING.exec(path);
  if (!m) return undefined;
  let model: string;
  try {
    model = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  return {
    protocol: path.startsWith('/v2') ? 'kserve' : 'tfserving',
    model,
    ...(m[2] === undefined ? {} : { version: Number(m[2]) }),
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

function flatten(v: unknown, shape: number[], depth = 0, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) {
    if (shape.length === depth) shape.push(v.length);
    for (const x of v) flatten(x, shape, depth + 1, out);
  } else out.push(v);
  return out;
}

/** Numbers or booleans only; BYTES outputs and anything else are left out. */
function tensor(name: string, data: unknown[], shape: number[], datatype?: string) {
  if (data.length === 0) return undefined;
  if (data.every((x) => typeof x === 'number')) {
    return { name, datatype: datatype ?? 'FP32', shape, data: data };
  }
  if (data.every((x) => typeof x === 'boolean')) {
    return { name, datatype: 'BOOL', shape, data: data };
  }
  return undefined;
}

const READERS: Record<string, [number, (b: Buffer, o: number) => number | boolean]> = {
  FP32: [4, (b, o) => b.readFloatLE(o)],
  FP64: [8, (b, o) => b.readDoubleLE(o)],
  INT8: [1, (b, o) => b.readInt8(o)],
  UINT8: [1, (b, o) => b.readUInt8(o)],
  INT16: [2, (b, o) => b.readInt16LE(o)],
  UINT16: [2, (b, o) => b.readUInt16LE(o)],
  INT32: [4, (b, o) => b.readInt32LE(o)],
  UINT32: [4, (b, o) => b.readUInt32LE(o)],
  INT64: [8, (b, o) => Number(b.readBigInt64LE(o))],
  UINT64: [8, (b, o) => Number(b.readBigUInt64LE(o))],
  BOOL: [1, (b, o) => b.readUInt8(o) !== 0],
};

/** A KServe v2 response, JSON or with the binary tensor extension. */
function kserveOutputs(response: Buffer, headers: IncomingHttpHeaders) {
  const headerLen = Number(headers['inference-header-content-length'] ?? NaN);
  const json = Number.isInteger(headerLen) ? response.subarray(0, headerLen) : response;
  const body = JSON.parse(json.toString('utf8')) as Json;
  let offset = Number.isInteger(headerLen) ? headerLen : response.length;
  const outputs: PredictionOutput[] = [];
  for (const o of Array.isArray(body.outputs) ? (body.outputs as Json[]) : []) {
    const name = typeof o.name === 'string' ? o.name : 'output';
    const datatype = typeof o.datatype === 'string' ? o.datatype : 'FP32';
    const declared = Array.isArray(o.shape) ? (o.shape as number[]) : [];
    const size = isObject(o.parameters) ? Number(o.parameters.binary_data_size) : NaN;
    let data: unknown[];
    if (Number.isInteger(size)) {
      const bytes = response.subarray(offset, offset + size);
      offset += size;
      const reader = READERS[datatype];
      if (!reader) continue;
      data = [];
      for (let i = 0; i + reader[0] <= bytes.length; i += reader[0]) data.push(reader[1](bytes, i));
    } else {
      data = flatten(o.data, []);
    }
    const t = tensor(name, data, declared.length ? declared : [data.length], datatype);
    if (t) outputs.push(t);
  }
  const version = Number(body.model_version);
  return {
    id: typeof body.id === 'string' && body.id ? body.id : undefined,
    generation: Number.isInteger(version) && version >= 0 ? version : undefined,
    outputs,
  };
}

/** `{predictions}` (row format: one output, or an object per row) or `{outputs}` (columnar). */
function tfOutputs(response: Buffer) {
  const body = JSON.parse(response.toString('utf8')) as Json;
  const outputs: PredictionOutput[] = [];
  const add = (name: string, v: unknown) => {
    const shape: number[] = [];
    const t = tensor(name, flatten(v, shape), shape.length ? shape : [1]);
    if (t) outputs.push(t);
  };
  const rows = body.predictions;
  if (Array.isArray(rows) && rows.length > 0 && rows.every(isObject)) {
    for (const k of Object.keys(rows[0] as Json))
      add(
        k,
        rows.map((r) => r[k]),
      );
  } else if (rows !== undefined) add('predictions', rows);
  else if (isObject(body.outputs)) for (const [k, v] of Object.entries(body.outputs)) add(k, v);
  else if (body.outputs !== undefined) add('outputs', body.outputs);
  return { id: undefined, generation: undefined, outputs };
}

interface RequestInfo {
  id?: string | undefined;
  shapes?: Record<string, number[]>;
  metadata?: Json;
}

/** Request id, shapes and caller metadata (`parameters` of a KServe v2 request, minus protocol keys). */
function requestInfo(call: InferenceCall, request: Buffer): RequestInfo {
  let body: Json;
  try {
    body = JSON.parse(request.toString('utf8')) as Json;
  } catch {
    return {}; // a binary-extension request: no JSON to read shapes or metadata from
  }
  if (!isObject(body)) return {};
  if (call.protocol === 'tfserving') {
    return isObject(body.metadata) ? { metadata: body.metadata } : {};
  }
  const shapes: Record<string, number[]> = {};
  for (const i of Array.isArray(body.inputs) ? (body.inputs as Json[]) : []) {
    if (typeof i?.name === 'string' && Array.isArray(i.shape)) shapes[i.name] = i.shape as number[];
  }
  let metadata: Json | undefined;
  if (isObject(body.parameters)) {
    const { binary_data_output: _b, ...rest } = body.parameters;
    if (Object.keys(rest).length) metadata = rest;
  }
  return {
    id: typeof body.id === 'string' && body.id ? body.id : undefined,
    shapes,
    ...(metadata ? { metadata } : {}),
  };
}

/** The `Prediction` delivery rules see, from one successful predict exchange. */
export function predictionFrom(
  call: InferenceCall,
  request: Buffer,
  response: Buffer,
  headers: IncomingHttpHeaders,
  now = new Date(),
): Prediction {
  const out = call.protocol === 'kserve' ? kserveOutputs(response, headers) : tfOutputs(response);
  const req = requestInfo(call, request);
  const inputs = {
    ...(req.metadata ? { metadata: req.metadata } : {}),
    ...(req.shapes && Object.keys(req.shapes).length ? { shapes: req.shapes } : {}),
  };
  return {
    id: out.id ?? req.id ?? randomUUID(),
    model: call.model,
    generation: out.generation ?? call.version ?? 0,
    time: now.toISOString(),
    ...(Object.keys(inputs).length ? { inputs } : {}),
    outputs: out.outputs,
  };
}

export interface CaptureDeps {
  /** whether any enabled delivery rule names the model (answered from memory) */
  wants(model: string): boolean;
  publish(p: Prediction): Promise<unknown>;
  log: Logger;
}

/**
 * The inference proxy's `onPrediction` hook. Predictions of models no rule names cost a
 * regex; the rest are decoded and queued on a later tick, so the client's answer (already
 * sent) never waits on delivery, and a delivery failure never reaches the client.
 */
export function createPredictionCapture(d: CaptureDeps) {
  return (path: string, request: Buffer, response: Buffer, headers: IncomingHttpHeaders): void => {
    const call = parseInferencePath(path);
    if (!call || !d.wants(call.model)) return;
    setImmediate(() => {
      let p: Prediction;
      try {
        p = predictionFrom(call, request, response, headers);
      } catch (err) {
        d.log.warn({ err: String(err), model: call.model }, 'prediction not captured');
        return;
      }
      d.publish(p).catch((err: unknown) => {
        d.log.warn({ err: String(err), model: call.model }, 'prediction not queued for delivery');
      });
    });
  };
}
