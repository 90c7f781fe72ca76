/**
 * KServe Open Inference Protocol v2 (REST) bodies ↔ tensors, including the binary tensor
 * data extension (JSON header of `Inference-Header-Content-Length` bytes, then raw tensors).
 */
import { z } from 'zod';
import { BadInput } from '../../../shared/errors.js';
import {
  classificationCount,
  classify,
  LABEL_OUTPUT,
  rowLabels,
  scoreOutput,
  stringsToBytes,
  type StringTensor,
} from './class-labels.js';
import { fastFloats, flattenNested, toPlain, toTyped } from './tensor-json.js';
import {
  ELEM,
  elemFromV2,
  fromBytes,
  sizeOf,
  toBytes,
  V2_DATATYPES,
  type TensorMap,
} from '../tensors/tensors.js';

const Params = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

const InferRequest = z.object({
  id: z.string().optional(),
  parameters: Params.optional(),
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int().nonnegative()),
        datatype: z.string(),
        parameters: Params.optional(),
        data: z.unknown().optional(),
      }),
    )
    .min(1),
  outputs: z.array(z.object({ name: z.string(), parameters: Params.optional() })).optional(),
});

export interface DecodedInfer {
  id: string | undefined;
  inputs: TensorMap;
  /**
   * requested outputs in order, or undefined for all; `classification`: Triton's extension,
   * the top k classes as strings instead of the tensor
   */
  outputs: { name: string; binary: boolean | undefined; classification?: number }[] | undefined;
  /** request-level `binary_data_output` */
  binaryOutput: boolean;
}

/**
 * A request body as tensors. Its JSON's depth is checked by the caller (decode-offload, on
 * the HTTP thread), so that the decode worker thread loads nothing beyond errors.js.
 */
export function decodeInfer(body: Buffer, headerLength: string | undefined): DecodedInfer {
  let jsonEnd = body.length;
  if (headerLength !== undefined) {
    jsonEnd = Number(headerLength);
    if (!Number.isInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length) {
      throw new BadInput(
        `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`,
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8', 0, jsonEnd));
  } catch (err) {
    // V8's message quotes only a few characters of the input.
    throw new BadInput(`body is not valid JSON: ${(err as Error).message}`);
  }
  if (isTfServingBody(json)) {
    throw new BadInput(
      'this is a TF Serving predict request ("instances" rows or "inputs" columns): send it to ' +
        '/v1/models/<model>:predict; /v2/models/<model>/infer takes {"inputs": [{name, datatype, shape, data}]}',
      { use: '/v1/models/<model>:predict' },
    );
  }
  const parsed = InferRequest.safeParse(json);
  if (!parsed.success) {
    throw new BadInput(
      `bad inference request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
    );
  }
  const req = parsed.data;
  const inputs: TensorMap = {};
  let at = jsonEnd;
  for (const inp of req.inputs) {
    const what = `input "${inp.name}"`;
    if (inputs[inp.name]) throw new BadInput(`${what} is given twice`);
    const type = elemFromV2(inp.datatype);
    if (!type)
      throw new BadInput(
        `${what} has unsupported datatype "${inp.datatype}"; supported: ${V2_DATATYPES.join(', ')}`,
      );
    const count = sizeOf(inp.shape);
    const binSize = inp.parameters?.binary_data_size;
    if (binSize !== undefined) {
      const want = count * ELEM[type].bytes;
      if (typeof binSize !== 'number' || binSize !== want) {
        throw new BadInput(
          `${what}: binary_data_size is ${String(binSize)} but shape and datatype need ${want} bytes`,
        );
      }
      if (at + want > body.length)
        throw new BadInput(`${what}: the body ends before its ${want} binary bytes`);
      inputs[inp.name] = {
        type,
        dims: inp.shape,
        data: fromBytes(type, body.subarray(at, at + want)),
      };
      at += want;
      continue;
    }
    if (inp.data === undefined) throw new BadInput(`${what} has neither data nor binary_data_size`);
    const fast = fastFloats(type, inp.data, inp.shape, count);
    if (fast) {
      inputs[inp.name] = { type, dims: inp.shape, data: fast };
      continue;
    }
    const { values } = flattenNested(inp.data, what);
    if (values.length !== count) {
      throw new BadInput(
        `${what} has ${values.length} values but shape [${inp.shape.join(', ')}] needs ${count}`,
      );
    }
    inputs[inp.name] = { type, dims: inp.shape, data: toTyped(type, values, what) };
  }
  if (at !== body.length)
    throw new BadInput(`${body.length - at} bytes of binary data are not claimed by any input`);
  return {
    id: req.id,
    inputs,
    outputs: req.outputs?.map((o) => {
      const k = classificationCount(o.parameters?.classification, o.name);
      return {
        name: o.name,
        binary:
          typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : undefined,
        ...(k === undefined ? {} : { classification: k }),
      };
    }),
    binaryOutput: req.parameters?.binary_data_output === true,
  };
}

/** `{"instances": ...}`, or `{"inputs": ...}` that is not a list: TF Serving's predict body. */
function isTfServingBody(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const o = json as Record<string, unknown>;
  return (
    (o.instances !== undefined && o.inputs === undefined) ||
    (o.inputs !== undefined && !Array.isArray(o.inputs))
  );
}

export type EncodedResponse =
  | { body: Buffer; headerLength: undefined }
  /** binary outputs follow the JSON: the parts, sent as they are (sendMaybeCompressed) */
  | { parts: Uint8Array[]; headerLength: number };

export function encodeInfer(opts: {
  model: string;
  gen: number | undefined;
  request: DecodedInfer;
  outputs: TensorMap;
  /** the answering generation's class names: adds the `label` output */
  labels?: readonly string[];
}): EncodedResponse {
  const { request, outputs, labels } = opts;
  // A classifier with class names answers each row's class as `label` (BYTES) too.
  const scores = labels && !outputs[LABEL_OUTPUT] ? scoreOutput(outputs, labels) : undefined;
  const names = Object.keys(outputs);
  if (scores) names.push(LABEL_OUTPUT);
  const wanted: NonNullable<DecodedInfer['outputs']> =
    request.outputs ?? names.map((name) => ({ name, binary: undefined }));
  const json: Record<string, unknown>[] = [];
  const blobs: Uint8Array[] = [];
  const strings = (w: { name: string; binary: boolean | undefined }, s: StringTensor) => {
    const base = { name: w.name, datatype: 'BYTES', shape: s.dims };
    if (w.binary ?? request.binaryOutput) {
      const bytes = stringsToBytes(s.data);
      blobs.push(bytes);
      json.push({ ...base, parameters: { binary_data_size: bytes.byteLength } });
    } else {
      json.push({ ...base, data: s.data });
    }
  };
  for (const w of wanted) {
    if (scores && w.name === LABEL_OUTPUT) {
      const t = outputs[scores]!;
      strings(w, { dims: [t.dims[0]!], data: rowLabels(t, labels!) });
      continue;
    }
    const t = outputs[w.name];
    if (!t) {
      throw new BadInput(
        `model "${opts.model}" has no output "${w.name}"; its outputs are: ${names.join(', ')}`,
      );
    }
    if (w.classification !== undefined) {
      strings(w, classify(t, w.classification, labels, w.name));
      continue;
    }
    const binary = w.binary ?? (request.binaryOutput || t.type === 'float16');
    const base = { name: w.name, datatype: ELEM[t.type].v2, shape: t.dims };
    if (binary) {
      const bytes = toBytes(t.data);
      blobs.push(bytes);
      json.push({ ...base, parameters: { binary_data_size: bytes.byteLength } });
    } else {
      json.push({ ...base, data: toPlain(t) });
    }
  }
  const head = JSON.stringify({
    model_name: opts.model,
    ...(opts.gen === undefined ? {} : { model_version: String(opts.gen) }),
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs: json,
  });
  if (blobs.length === 0) return { body: Buffer.from(head), headerLength: undefined };
  const headBuf = Buffer.from(head);
  return { parts: [headBuf, ...blobs], headerLength: headBuf.length };
}
