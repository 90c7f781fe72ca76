/**
 * Small ONNX models written from code (onnx-buf schema on @bufbuild/protobuf v2), so tests
 * and benchmarks need no binary fixtures. Weights are deterministic (seeded), so two calls
 * with the same arguments give byte-identical models.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType as DT,
  TensorProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

const OPSET = 17n;
const IR_VERSION = 8n;

type Dim = number | string;

function valueInfo(name: string, elemType: DT, dims: Dim[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: {
            dim: dims.map((d) => ({
              value:
                typeof d === 'number'
                  ? { case: 'dimValue' as const, value: BigInt(d) }
                  : { case: 'dimParam' as const, value: d },
            })),
          },
        },
      },
    },
  });
}

function attrInts(name: string, ints: number[]): AttributeProto {
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.INTS,
    ints: ints.map(BigInt),
  });
}

function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.INT,
    i: BigInt(i),
  });
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: AttributeProto[] = [],
): NodeProto {
  return create(NodeProtoSchema, { opType, input, output, name: output[0] ?? opType, attribute });
}

function rawTensor(name: string, dataType: DT, dims: number[], bytes: Uint8Array): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType,
    dims: dims.map(BigInt),
    rawData: new Uint8Array(bytes),
  });
}

function f32Tensor(name: string, dims: number[], values: Float32Array): TensorProto {
  return rawTensor(name, DT.FLOAT, dims, new Uint8Array(values.buffer.slice(0)));
}

function i64Tensor(name: string, values: number[]): TensorProto {
  return rawTensor(
    name,
    DT.INT64,
    [values.length],
    new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer),
  );
}

function scalar(name: string, type: DT, value: number): TensorProto {
  switch (type) {
    case DT.FLOAT:
      return rawTensor(name, type, [], new Uint8Array(Float32Array.of(value).buffer));
    case DT.DOUBLE:
      return rawTensor(name, type, [], new Uint8Array(Float64Array.of(value).buffer));
    case DT.INT32:
      return rawTensor(name, type, [], new Uint8Array(Int32Array.of(value).buffer));
    case DT.INT64:
      return rawTensor(name, type, [], new Uint8Array(BigInt64Array.of(BigInt(value)).buffer));
    default:
      throw new Error(`no scalar helper for type ${type}`);
  }
}

function model(
  nodes: NodeProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  initializer: TensorProto[],
): Buffer {
  const m = create(ModelProtoSchema, {
    irVersion: IR_VERSION,
    producerName: 'swarmml-tests',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: create(GraphProtoSchema, {
      name: 'g',
      node: nodes,
      input: inputs,
      output: outputs,
      initializer,
    }),
  });
  return Buffer.from(toBinary(ModelProtoSchema, m));
}

/** Deterministic uniform values in [-scale, scale) (mulberry32). */
export function seededFloats(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (u * 2 - 1) * scale;
  }
  return out;
}

/**
 * `y = x + value`, x and y float32 `[batch, width]` with a dynamic batch dim. Two
 * generations with different `value`s give distinguishable answers (hot-swap tests).
 */
export function addConstantModel(opts: {
  value: number;
  width?: number;
  fixedBatch?: number;
}): Buffer {
  const width = opts.width ?? 4;
  const dims: Dim[] = [opts.fixedBatch ?? 'batch', width];
  return model(
    [node('Add', ['x', 'c'], ['y'])],
    [valueInfo('x', DT.FLOAT, dims)],
    [valueInfo('y', DT.FLOAT, dims)],
    [scalar('c', DT.FLOAT, opts.value)],
  );
}

/**
 * One input and output per datatype, dynamic batch:
 * f32,f64,i32,i64 → `*_out = x + value`; u8 → identity; b → not.
 * Shapes: f32 [batch,4], f64/i32/i64/b [batch,2], u8 [batch,3].
 */
export function typedModel(value = 1): Buffer {
  const numeric: [string, DT, number][] = [
    ['f32', DT.FLOAT, 4],
    ['f64', DT.DOUBLE, 2],
    ['i32', DT.INT32, 2],
    ['i64', DT.INT64, 2],
  ];
  const nodes: NodeProto[] = numeric.map(([n]) => node('Add', [n, `${n}_c`], [`${n}_out`]));
  nodes.push(node('Identity', ['u8'], ['u8_out']), node('Not', ['b'], ['b_out']));
  const inputs = [
    ...numeric.map(([n, t, w]) => valueInfo(n, t, ['batch', w])),
    valueInfo('u8', DT.UINT8, ['batch', 3]),
    valueInfo('b', DT.BOOL, ['batch', 2]),
  ];
  const outputs = [
    ...numeric.map(([n, t, w]) => valueInfo(`${n}_out`, t, ['batch', w])),
    valueInfo('u8_out', DT.UINT8, ['batch', 3]),
    valueInfo('b_out', DT.BOOL, ['batch', 2]),
  ];
  return model(
    nodes,
    inputs,
    outputs,
    numeric.map(([n, t]) => scalar(`${n}_c`, t, value)),
  );
}

/** A dense ReLU MLP ending in softmax: `x [batch, sizes[0]]` → `probs [batch, last]`. */
export function mlpModel(sizes: number[] = [784, 128, 10], seed = 7): Buffer {
  const nodes: NodeProto[] = [];
  const init: TensorProto[] = [];
  let prev = 'x';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l]!;
    const nOut = sizes[l + 1]!;
    init.push(
      f32Tensor(`W${l}`, [nIn, nOut], seededFloats(nIn * nOut, seed + l, 1 / Math.sqrt(nIn))),
      f32Tensor(`B${l}`, [nOut], seededFloats(nOut, seed + 100 + l, 0.1)),
    );
    nodes.push(
      node('MatMul', [prev, `W${l}`], [`mm${l}`]),
      node('Add', [`mm${l}`, `B${l}`], [`a${l}`]),
    );
    prev = `a${l}`;
    if (l + 2 < sizes.length) {
      nodes.push(node('Relu', [prev], [`r${l}`]));
      prev = `r${l}`;
    }
  }
  nodes.push(node('Softmax', [prev], ['probs'], [attrInt('axis', -1)]));
  return model(
    nodes,
    [valueInfo('x', DT.FLOAT, ['batch', sizes[0]!])],
    [valueInfo('probs', DT.FLOAT, ['batch', sizes[sizes.length - 1]!])],
    init,
  );
}

/**
 * A compute-heavy model whose cost depends on the input (so nothing constant-folds):
 * `x [batch, size]` is broadcast to `[batch, size, size]` and multiplied `depth` times by a
 * `size x size` matrix, then averaged back to `y [batch, size]`. Cost per row is about
 * `2 * size^3 * depth` flops.
 */
export function slowModel(opts: { size?: number; depth?: number } = {}): Buffer {
  const size = opts.size ?? 256;
  const depth = opts.depth ?? 2;
  const nodes: NodeProto[] = [
    node('Unsqueeze', ['x', 'axes1'], ['x3']),
    node('Expand', ['x3', 'square'], ['m0']),
  ];
  for (let d = 0; d < depth; d++) {
    nodes.push(node('MatMul', [`m${d}`, 'W'], [`p${d}`]), node('Tanh', [`p${d}`], [`m${d + 1}`]));
  }
  nodes.push(
    node('ReduceMean', [`m${depth}`], ['y'], [attrInts('axes', [1]), attrInt('keepdims', 0)]),
  );
  return model(
    nodes,
    [valueInfo('x', DT.FLOAT, ['batch', size])],
    [valueInfo('y', DT.FLOAT, ['batch', size])],
    [
      i64Tensor('axes1', [1]),
      i64Tensor('square', [1, size, size]),
      f32Tensor('W', [size, size], seededFloats(size * size, 3, 1 / Math.sqrt(size))),
    ],
  );
}

/** A file that is not an ONNX model at all (load-failure tests). */
export function garbageModel(): Buffer {
  return Buffer.from('this is not an onnx model');
}

/**
 * A linear classifier with given weights: `x [batch, dim]` → `probabilities [batch, classes]`
 * = softmax(scale · (x·W + b)). `weights` is dim rows of `classes` values. Raising `scale`
 * sharpens the probabilities without changing any row's most probable class, so two scales
 * give the same accuracy with different log losses.
 */
export function linearClassifierModel(opts: {
  weights: number[][];
  bias: number[];
  scale?: number;
}): Buffer {
  const dim = opts.weights.length;
  const classes = opts.bias.length;
  const scale = opts.scale ?? 1;
  const w = Float32Array.from(opts.weights.flat(), (v) => v * scale);
  const b = Float32Array.from(opts.bias, (v) => v * scale);
  return model(
    [
      node('MatMul', ['x', 'W'], ['xw']),
      node('Add', ['xw', 'B'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], [attrInt('axis', -1)]),
    ],
    [valueInfo('x', DT.FLOAT, ['batch', dim])],
    [valueInfo('probabilities', DT.FLOAT, ['batch', classes])],
    [f32Tensor('W', [dim, classes], w), f32Tensor('B', [classes], b)],
  );
}
