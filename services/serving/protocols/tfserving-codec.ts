/** TF Serving REST predict bodies (row `instances` / columnar `inputs`) ↔ tensors. */
import { BadInput } from '../../../shared/index.js';
import { parseLenient } from './lenient-json.js';
import type { ModelIO } from '../hosting/protocol.js';
import { flattenNested, nestedJson, toTyped } from './tensor-json.js';
import { rowLabels, scoreOutput, TF_CLASSES_KEY } from './class-labels.js';
import type { TensorMap } from '../tensors/tensors.js';

export type PredictFormat = 'row' | 'columnar';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodePredict(
  body: Buffer,
  io: ModelIO,
  model: string,
): { inputs: TensorMap; format: PredictFormat } {
  const { value: req, nonFiniteTokens } = parseLenient(body.toString('utf8'));
  if (!isObject(req)) throw new BadInput('body must be a JSON object with "instances" or "inputs"');
  if (Array.isArray(req.inputs) && isV2Tensor(req.inputs[0])) {
    throw new BadInput(
      `this is a KServe v2 request ("inputs" as a list of {name, datatype, shape, data}): ` +
        `send it to /v2/models/${model}/infer; :predict takes {"instances": [...]} rows or {"inputs": ...} columns`,
      { use: `/v2/models/${model}/infer` },
    );
  }
  const sig = req.signature_name;
  if (sig !== undefined && sig !== '' && sig !== 'serving_default') {
    throw new BadInput(
      `model "${model}" has no signature ${JSON.stringify(sig)}; it has "serving_default"`,
    );
  }
  const hasRows = req.instances !== undefined;
  if (hasRows === (req.inputs !== undefined)) {
    throw new BadInput(
      'send exactly one of "instances" (row format) or "inputs" (columnar format)',
    );
  }
  const columns: Record<string, unknown> = {};
  if (hasRows) {
    const rows = req.instances;
    if (!Array.isArray(rows) || rows.length === 0)
      throw new BadInput('"instances" must be a non-empty list');
    if (rows.every(isObject)) {
      const keys = Object.keys(rows[0]!).sort().join(',');
      rows.forEach((r, i) => {
        if (Object.keys(r).sort().join(',') !== keys) {
          throw new BadInput(
            `instance ${i} names other inputs than instance 0 (${keys}); every instance needs the same inputs`,
          );
        }
      });
      for (const k of Object.keys(rows[0]!)) columns[k] = rows.map((r) => r[k]);
    } else {
      columns[soleInput(io, model)] = rows;
    }
  } else if (isObject(req.inputs)) {
    Object.assign(columns, req.inputs);
  } else {
    columns[soleInput(io, model)] = req.inputs;
  }
  const inputs: TensorMap = {};
  for (const [name, value] of Object.entries(columns)) {
    const spec = io.inputs.find((s) => s.name === name);
    if (!spec) {
      throw new BadInput(
        `model "${model}" has no input "${name}"; its inputs are: ${io.inputs.map((s) => s.name).join(', ')}`,
      );
    }
    const { values, shape } = flattenNested(value, `input "${name}"`);
    inputs[name] = {
      type: spec.type,
      dims: shape,
      data: toTyped(spec.type, values, `input "${name}"`, { infinityTokens: nonFiniteTokens }),
    };
  }
  return { inputs, format: hasRows ? 'row' : 'columnar' };
}

/** A KServe v2 tensor object, as a client of the wrong protocol sends it. */
function isV2Tensor(v: unknown): boolean {
  return isObject(v) && typeof v.name === 'string' && typeof v.datatype === 'string';
}

function soleInput(io: ModelIO, model: string): string {
  if (io.inputs.length !== 1) {
    throw new BadInput(
      `model "${model}" has ${io.inputs.length} inputs (${io.inputs.map((s) => s.name).join(', ')}); name them: ` +
        'a list of objects in "instances", or an object in "inputs"',
    );
  }
  return io.inputs[0]!.name;
}

/**
 * `{"predictions": ...}` for row requests, `{"outputs": ...}` for columnar ones. With class
 * `labels`, an answer that names its outputs (more than one) names each row's class too, as
 * `classes`, beside them; an answer of one unnamed tensor is left as it is.
 */
export function encodePredict(
  outputs: TensorMap,
  order: string[],
  format: PredictFormat,
  labels?: readonly string[],
): string {
  const names = order.filter((n) => outputs[n]);
  for (const n of Object.keys(outputs)) if (!names.includes(n)) names.push(n);
  const scores =
    labels && names.length > 1 && !outputs[TF_CLASSES_KEY]
      ? scoreOutput(outputs, labels)
      : undefined;
  const classes = scores ? rowLabels(outputs[scores]!, labels!) : undefined;
  const classesKey = JSON.stringify(TF_CLASSES_KEY);
  if (format === 'columnar') {
    if (names.length === 1) return `{"outputs":${nestedJson(outputs[names[0]!]!)}}`;
    const extra = classes ? `,${classesKey}:${JSON.stringify(classes)}` : '';
    return `{"outputs":{${names.map((n) => `${JSON.stringify(n)}:${nestedJson(outputs[n]!)}`).join(',')}${extra}}}`;
  }
  if (names.length === 1) return `{"predictions":${nestedJson(outputs[names[0]!]!)}}`;
  const rows = outputs[names[0]!]!.dims[0] ?? 0;
  if (names.some((n) => outputs[n]!.dims[0] !== rows || outputs[n]!.dims.length === 0)) {
    throw new BadInput(
      'the outputs do not share a batch dimension; use the columnar "inputs" format',
    );
  }
  const objs: string[] = [];
  for (let r = 0; r < rows; r++) {
    const extra = classes ? `,${classesKey}:${JSON.stringify(classes[r])}` : '';
    objs.push(
      `{${names.map((n) => `${JSON.stringify(n)}:${nestedJson(outputs[n]!, r, r + 1, true)}`).join(',')}${extra}}`,
    );
  }
  return `{"predictions":[${objs.join(',')}]}`;
}
