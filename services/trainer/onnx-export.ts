import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { imputationRecord } from './imputation.js';
import type { TrainedModel } from './trained-model.js';

/** Tensor names of the exported graph, for serving and clients. */
export const ONNX_NAMES = {
  input: 'input',
  logits: 'logits',
  probabilities: 'probabilities',
} as const;

/** Opset 13 has every op used here and runs on any onnxruntime of the last years. */
export const ONNX_OPSET = 13;
/** IR version 8 goes with opset 13..17. */
const IR_VERSION = 8n;

export interface ExportOptions {
  /** The graph's name, e.g. the model name. @defaultValue 'swarmml' */
  name?: string;
  /** Class names in class-id order; stored as JSON in metadata `label_names`. */
  labelNames?: readonly string[];
  /** Extra metadata_props (e.g. dataset version, metrics). */
  metadata?: Record<string, string>;
}

function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  // raw_data is little-endian by the ONNX spec, as is every platform Node runs on here.
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: TensorProto_DataType.FLOAT,
    rawData: bytes,
  });
}

/** A FLOAT [batch, width] value with a symbolic batch dimension. */
function matrixInfo(name: string, width: number): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: TensorProto_DataType.FLOAT,
          shape: create(TensorShapeProtoSchema, {
            dim: [
              create(TensorShapeProto_DimensionSchema, {
                value: { case: 'dimParam', value: 'batch' },
              }),
              create(TensorShapeProto_DimensionSchema, {
                value: { case: 'dimValue', value: BigInt(width) },
              }),
            ],
          }),
        }),
      },
    }),
  });
}

function node(
  opType: string,
  input: string[],
  output: string[],
  ints: Record<string, number> = {},
): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    name: `${opType}_${output[0]}`,
    input,
    output,
    attribute: Object.entries(ints).map(([name, v]) =>
      create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) }),
    ),
  });
}

/**
 * Serializes a trained model as an ONNX ModelProto: raw features `input` [batch, dim] →
 * missing values filled (IsNaN, Where) → normalization (Sub, Mul) → Gemm (+ Relu) per layer →
 * `logits` → Softmax → `probabilities`.
 */
export function exportOnnx(model: TrainedModel, opts: ExportOptions = {}): Uint8Array {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let current: string = ONNX_NAMES.input;

  const imp = model.imputation;
  if (imp) {
    // Where broadcasts the [dim] fills over the batch: a NaN cell takes its feature's fill.
    inits.push(floatTensor('impute_fill', [model.dim], imp.fill));
    nodes.push(node('IsNaN', [current], ['missing']));
    nodes.push(node('Where', ['missing', 'impute_fill', current], ['imputed']));
    current = 'imputed';
  }

  const norm = model.normalization;
  if (norm) {
    if (norm.offset.some((v) => v !== 0)) {
      inits.push(floatTensor('norm_offset', [model.dim], norm.offset));
      nodes.push(node('Sub', [current, 'norm_offset'], ['centered']));
      current = 'centered';
    }
    inits.push(floatTensor('norm_scale', [model.dim], norm.scale));
    nodes.push(node('Mul', [current, 'norm_scale'], ['normalized']));
    current = 'normalized';
  }

  const last = model.layers.length - 1;
  model.layers.forEach((layer, l) => {
    const w = `dense${l}_weight`;
    const b = `dense${l}_bias`;
    inits.push(floatTensor(w, [layer.inDim, layer.outDim], layer.w));
    inits.push(floatTensor(b, [layer.outDim], layer.b));
    const out = l === last ? ONNX_NAMES.logits : `dense${l}`;
    nodes.push(node('Gemm', [current, w, b], [out]));
    current = out;
    if (l !== last) {
      nodes.push(node('Relu', [out], [`relu${l}`]));
      current = `relu${l}`;
    }
  });
  nodes.push(node('Softmax', [current], [ONNX_NAMES.probabilities], { axis: 1 }));

  const meta: Record<string, string> = {
    trainer: model.trainer,
    params: JSON.stringify(model.params),
    feature_count: String(model.dim),
    class_count: String(model.classes),
    layer_dims: JSON.stringify([model.dim, ...model.layers.map((l) => l.outDim)]),
    normalization: norm?.method ?? 'none',
    ...(imp ? { imputation: JSON.stringify(imputationRecord(imp)) } : {}),
    ...(opts.labelNames ? { label_names: JSON.stringify(opts.labelNames) } : {}),
    ...opts.metadata,
  };

  const graph = create(GraphProtoSchema, {
    name: opts.name ?? 'swarmml',
    node: nodes,
    initializer: inits,
    input: [matrixInfo(ONNX_NAMES.input, model.dim)],
    output: [
      matrixInfo(ONNX_NAMES.logits, model.classes),
      matrixInfo(ONNX_NAMES.probabilities, model.classes),
    ],
  });
  const hidden = model.layers.slice(0, -1).map((l) => l.outDim);
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ONNX_OPSET) })],
      producerName: 'swarmml',
      producerVersion: '0.1.0',
      docString:
        `${model.trainer === 'mlp' ? `MLP, hidden ${JSON.stringify(hidden)}` : 'softmax regression'}` +
        ` over ${model.dim} raw features (${imp ? `${imp.strategy} imputation of NaN, ` : ''}` +
        `${norm?.method ?? 'no'} normalization in-graph),` +
        ` ${model.classes} classes. Outputs logits and probabilities.`,
      graph,
      metadataProps: Object.entries(meta).map(([key, value]) =>
        create(StringStringEntryProtoSchema, { key, value }),
      ),
    }),
  );
}
