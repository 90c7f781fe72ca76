import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import {
  checkPipeline,
  Pipeline,
  PipelineDef,
} from '../../../services/serving/hosting/pipelines.js';
import type { ModelIO } from '../../../services/serving/hosting/protocol.js';
import type {
  Description,
  InferResult,
  Servable,
} from '../../../services/serving/hosting/servable.js';
import type { HostTensor, TensorMap } from '../../../services/serving/tensors/tensors.js';
import { addConstantModel, seededFloats, slowModel } from '../../helpers/onnx-models.js';
import { startServing, v2Body, type JsonBody, type Serving } from './harness.js';

const SIZE = 512;
const pipelines = [
  {
    name: 'both',
    nodes: [
      { id: 'left', model: 'slowA', inputs: { x: '$request.x' } },
      { id: 'right', model: 'slowB', inputs: { x: '$request.x' } },
    ],
    outputs: { left: 'left.y', right: 'right.y' },
  },
  {
    name: 'serial',
    nodes: [
      { id: 'left', model: 'slowA', inputs: { x: '$request.x' } },
      { id: 'right', model: 'slowB', inputs: { x: 'left.y' } },
    ],
    outputs: { y: 'right.y' },
  },
  {
    name: 'chain',
    nodes: [
      { id: 'first', model: 'add1', inputs: { x: '$request.input' } },
      { id: 'second', model: 'add1', version: 2, inputs: { x: 'first.y' } },
    ],
    outputs: { out: 'second.y' },
  },
];

describe('pipelines', () => {
  let s: Serving;
  before(async () => {
    const slow = slowModel({ size: SIZE, depth: 4 });
    const src = new InMemoryModelSource()
      .put('slowA', 1, slow, { production: true })
      .put('slowB', 1, slow, { production: true })
      .put('add1', 1, addConstantModel({ value: 1 }), { production: true })
      .put('add1', 2, addConstantModel({ value: 10 }));
    s = await startServing(src, { PIPELINES: JSON.stringify(pipelines) });
  });
  after(() => s.stop());

  test('a chain feeds one node into the next, with pinned versions', async () => {
    const r = await s.post('/v2/models/chain/infer', v2Body('input', [1, 4], [0, 1, 2, 3]));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.model_version, undefined);
    assert.deepEqual(r.body.outputs, [
      { name: 'out', datatype: 'FP32', shape: [1, 4], data: [11, 12, 13, 14] },
    ]);
    const meta = await s.get('/v2/models/chain');
    assert.deepEqual(meta.body.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(meta.body.outputs, [{ name: 'out', datatype: 'FP32', shape: [-1, 4] }]);
    const tf = await s.post('/v1/models/chain:predict', { instances: [[0, 0, 0, 0]] });
    assert.deepEqual(tf.body, { predictions: [[11, 11, 11, 11]] });
  });

  test('pipeline errors are 4xx', async () => {
    const wrong = await s.post('/v2/models/chain/infer', v2Body('x', [1, 4], [0, 1, 2, 3]));
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.error, /pipeline "chain" has no input "x"; its inputs are: input/);
    const versioned = await s.post(
      '/v2/models/chain/versions/1/infer',
      v2Body('input', [1, 4], [0, 1, 2, 3]),
    );
    assert.equal(versioned.status, 404);
    assert.match(versioned.body.error, /not versioned/);
    const shape = await s.post('/v2/models/chain/infer', v2Body('input', [1, 5], [0, 1, 2, 3, 4]));
    assert.equal(shape.status, 400);
    assert.match(shape.body.error, /expects \[-1, 4\]/);
  });

  test('definitions are checked: unknown nodes and cycles are rejected', () => {
    const cyclic = PipelineDef.parse({
      name: 'loop',
      nodes: [
        { id: 'a', model: 'm', inputs: { x: 'b.y' } },
        { id: 'b', model: 'm', inputs: { x: 'a.y' } },
      ],
      outputs: { y: 'b.y' },
    });
    assert.throws(() => checkPipeline(cyclic), /cycle/);
    const dangling = PipelineDef.parse({
      name: 'd',
      nodes: [{ id: 'a', model: 'm', inputs: { x: 'zz.y' } }],
      outputs: { y: 'a.y' },
    });
    assert.throws(() => checkPipeline(dangling), /unknown node "zz"/);
    assert.deepEqual(checkPipeline(PipelineDef.parse(pipelines[2])), ['first', 'second']);
  });

  test("two branches answer with each model's outputs", async () => {
    const x = Array.from(seededFloats(SIZE, 9));
    const a = await s.post('/v2/models/slowA/infer', v2Body('x', [1, SIZE], x));
    const b = await s.post('/v2/models/both/infer', v2Body('x', [1, SIZE], x));
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.deepEqual(
      b.body.outputs.map((o: JsonBody) => o.name),
      ['left', 'right'],
    );
    assert.deepEqual(b.body.outputs[0].data, a.body.outputs[0].data);
    assert.deepEqual(b.body.outputs[1].data, a.body.outputs[0].data);
  });
});

/**
 * The scheduling itself, with models whose answers the test releases by hand: what runs at
 * the same time is then a fact to assert, not a latency to guess from on a shared 2-core box
 * (scripts/bench/pipelines measures the latency).
 */
describe('pipeline scheduling', () => {
  class HeldModel implements Servable {
    readonly calls: TensorMap[] = [];
    private readonly releases: Array<() => void> = [];
    private waiters: Array<() => void> = [];
    constructor(readonly name: string) {}
    ready = () => true;
    loadedVersions = () => [1];
    describe(): Promise<Description> {
      throw new Error('not used');
    }
    signature(): Promise<ModelIO> {
      throw new Error('not used');
    }
    infer(inputs: TensorMap): Promise<InferResult> {
      this.calls.push(inputs);
      for (const w of this.waiters.splice(0)) w();
      return new Promise((resolve) =>
        this.releases.push(() => resolve({ gen: 1, outputs: { y: inputs.x! } })),
      );
    }
    /** resolves once infer has been called n times */
    async called(n = 1): Promise<void> {
      while (this.calls.length < n) await new Promise<void>((r) => this.waiters.push(r));
    }
    release(): void {
      this.releases.shift()!();
    }
  }
  const tensor = (v: number): HostTensor => ({
    type: 'float32',
    dims: [1, 1],
    data: new Float32Array([v]),
  });
  /** fails with `what` unless p settles within a few seconds (the alternative is a hang) */
  const within = async <T>(p: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), 5_000);
    });
    try {
      return await Promise.race([p, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
  // Lets every pending promise callback run, so a call that was going to happen has happened.
  const settle = () => new Promise<void>((r) => setImmediate(r));
  const build = (def: unknown) => {
    const models = new Map([
      ['slowA', new HeldModel('slowA')],
      ['slowB', new HeldModel('slowB')],
    ]);
    const p = new Pipeline(PipelineDef.parse(def), (m) => models.get(m));
    return { p, a: models.get('slowA')!, b: models.get('slowB')! };
  };

  test('independent branches are both in flight before either answers', async () => {
    const { p, a, b } = build(pipelines[0]);
    const result = p.infer({ x: tensor(3) });
    await within(
      Promise.all([a.called(), b.called()]),
      'both branches should be called before either answers',
    );
    assert.equal(a.calls.length + b.calls.length, 2);
    b.release(); // the right branch finishes first...
    a.release();
    const r = await result;
    // ...and the outputs still come in the order the definition lists them.
    assert.deepEqual(Object.keys(r.outputs), ['left', 'right']);
    assert.deepEqual([...r.outputs.left!.data], [3]);
  });

  test("a node that needs another node's output waits for it, and is called once", async () => {
    const { p, a, b } = build(pipelines[1]);
    const result = p.infer({ x: tensor(5) });
    await a.called();
    await settle();
    assert.equal(b.calls.length, 0, 'the dependent node started before its input existed');
    a.release();
    await within(b.called(), 'the dependent node was not called once its input existed');
    b.release();
    const r = await result;
    assert.deepEqual([...r.outputs.y!.data], [5]);
    assert.deepEqual([a.calls.length, b.calls.length], [1, 1]);
  });
});
