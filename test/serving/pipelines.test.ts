import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { InMemoryModelSource } from '../../services/serving/model-source.js';
import { checkPipeline, PipelineDef } from '../../services/serving/pipelines.js';
import { addConstantModel, seededFloats, slowModel } from '../helpers/onnx-models.js';
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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

  test('two equal branches run in parallel: about one branch of latency', async () => {
    const x = Array.from(seededFloats(SIZE, 9));
    const single = v2Body('x', [1, SIZE], x);
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    const infer = async (path: string): Promise<JsonBody> => {
      const r = await s.post(path, single);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const one: number[] = [];
    const both: number[] = [];
    const byHand: number[] = [];
    for (let i = 0; i < 3; i++) await infer('/v2/models/both/infer'); // warm both processes
    // Best cases of many rounds: a minimum is stable where a median swings with other load.
    for (let i = 0; i < 30; i++) {
      one.push(await time(() => infer('/v2/models/slowA/infer')));
      both.push(await time(() => infer('/v2/models/both/infer')));
      byHand.push(
        await time(() =>
          Promise.all([infer('/v2/models/slowA/infer'), infer('/v2/models/slowB/infer')]),
        ),
      );
    }
    const a = await infer('/v2/models/slowA/infer');
    const b = await infer('/v2/models/both/infer');
    assert.deepEqual(b.outputs[0].data, a.outputs[0].data);
    assert.deepEqual(b.outputs[1].data, a.outputs[0].data);

    const vsOne = Math.min(...both) / Math.min(...one);
    const vsByHand = Math.min(...both) / Math.min(...byHand);
    console.log(
      `two branches: median ${median(both).toFixed(1)} ms; one branch ${median(one).toFixed(1)} ms; ` +
        `both models called concurrently by hand ${median(byHand).toFixed(1)} ms; best-case ratio to ` +
        `one branch ${vsOne.toFixed(2)}; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
    );
    // The pipeline adds no serialisation of its own: it is as fast as firing both by hand
    // (best cases compared: medians on a shared 2-core box swing with other people's load).
    // Sequential branches would be about 2x; the margin absorbs a busy 2-core machine.
    assert.ok(vsByHand <= 1.5, `pipeline/by-hand = ${vsByHand.toFixed(2)}`);
    // The absolute figure needs two free cores; on a saturated box processes queue for CPU.
    // Whether they were free is measured, not guessed from the lagging load average: calling
    // both models by hand then takes about one branch too.
    if (Math.min(...byHand) / Math.min(...one) <= 1.3) {
      assert.ok(vsOne <= 1.3, `two branches took ${vsOne.toFixed(2)}x one branch`);
    }
  });
});
