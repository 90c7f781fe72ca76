import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { parseLenientJson } from '../../../services/serving/protocols/lenient-json.js';
import { addConstantModel, typedModel } from '../../helpers/onnx-models.js';
import { startServing, type Serving } from './harness.js';

describe('TF Serving REST protocol', () => {
  let s: Serving;
  before(async () => {
    const src = new InMemoryModelSource()
      .put('add', 1, addConstantModel({ value: 1, width: 2 }))
      .put('add', 2, addConstantModel({ value: 2, width: 2 }), { production: true })
      .put('typed', 1, typedModel(10), { production: true });
    s = await startServing(src, { MODEL_GROUPS: 'add+typed' });
  });
  after(() => s.stop());

  test('model status and metadata', async () => {
    const st = await s.get('/v1/models/add');
    assert.deepEqual(st.body, {
      model_version_status: [
        { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
    assert.equal(
      (await s.get('/v1/models/add/versions/1')).body.model_version_status[0].state,
      'END',
    );
    assert.equal((await s.get('/v1/models/add/versions/7')).status, 404);
    const md = await s.get('/v1/models/add/metadata');
    const sig = md.body.metadata.signature_def.signature_def.serving_default;
    assert.equal(md.body.model_spec.version, '2');
    assert.equal(sig.inputs.x.dtype, 'DT_FLOAT');
    assert.deepEqual(sig.inputs.x.tensor_shape.dim, [
      { size: '-1', name: '' },
      { size: '2', name: '' },
    ]);
    assert.equal(sig.method_name, 'tensorflow/serving/predict');
  });

  test('row format with one input → predictions list', async () => {
    const r = await s.post('/v1/models/add:predict', {
      instances: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepEqual(r, {
      status: 200,
      body: {
        predictions: [
          [3, 4],
          [5, 6],
        ],
      },
    });
    const v1 = await s.post('/v1/models/add/versions/1:predict', { instances: [[1, 2]] });
    assert.deepEqual(v1.body, { predictions: [[2, 3]] });
  });

  test('columnar format → outputs', async () => {
    const r = await s.post('/v1/models/add:predict', { inputs: [[1, 2]] });
    assert.deepEqual(r.body, { outputs: [[3, 4]] });
    const named = await s.post('/v1/models/add:predict', { inputs: { x: [[0, 0]] } });
    assert.deepEqual(named.body, { outputs: [[2, 2]] });
  });

  test('several inputs and outputs: list of objects in, list of objects out', async () => {
    const row = (k: number) => ({
      f32: [k, k, k, k],
      f64: [k, 0],
      i32: [k, 1],
      i64: [k, 2],
      u8: [k, 0, 0],
      b: [true, false],
    });
    const r = await s.post('/v1/models/typed:predict', { instances: [row(1), row(2)] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.predictions.length, 2);
    assert.deepEqual(r.body.predictions[1].i64_out, [12, 12]);
    assert.deepEqual(r.body.predictions[0].b_out, [false, true]);
    const cols = await s.post('/v1/models/typed:predict', {
      inputs: {
        f32: [[1, 1, 1, 1]],
        f64: [[1, 1]],
        i32: [[1, 1]],
        i64: [[1, 1]],
        u8: [[1, 1, 1]],
        b: [[true, true]],
      },
    });
    assert.deepEqual(cols.body.outputs.f32_out, [[11, 11, 11, 11]]);
  });

  test('NaN and Infinity tokens are accepted and emitted', async () => {
    const res = await fetch(`${s.url}/v1/models/add:predict`, {
      method: 'POST',
      body: '{"instances": [[NaN, -Infinity], [Infinity, 1]], "signature_name": "serving_default"}',
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(text, '{"predictions":[[NaN,-Infinity],[Infinity,3]]}');
    assert.deepEqual(parseLenientJson('{"a": "NaN in a string", "b": [NaN]}'), {
      a: 'NaN in a string',
      b: [NaN],
    });
  });

  test('errors are {error} with 4xx', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/v1/models/add:predict', { instances: [[1, 2]], inputs: [[1, 2]] }, 400, /exactly one of/],
      ['/v1/models/add:predict', {}, 400, /exactly one of/],
      [
        '/v1/models/add:predict',
        { instances: [[1, 2, 3]] },
        400,
        /shape \[1, 3\].*expects \[-1, 2\]/,
      ],
      ['/v1/models/add:predict', { instances: [[1, 2], [3]] }, 400, /ragged/],
      [
        '/v1/models/add:predict',
        { instances: [{ y: [1, 2] }] },
        400,
        /no input "y".*inputs are: x/,
      ],
      [
        '/v1/models/add:predict',
        { instances: [[1, 2]], signature_name: 'other' },
        400,
        /no signature "other"/,
      ],
      ['/v1/models/typed:predict', { instances: [[1, 2]] }, 400, /has 6 inputs/],
      ['/v1/models/add:classify', { examples: [] }, 400, /not supported; use :predict/],
      ['/v1/models/ghost:predict', { instances: [[1]] }, 404, /unknown model "ghost"/],
      [
        '/v1/models/add/labels/stable:predict',
        { instances: [[1, 2]] },
        404,
        /labels are not supported/,
      ],
      ['/v1/models/add:predict', 'not json', 400, /not valid JSON/],
    ];
    for (const [path, body, status, re] of cases) {
      const r = await s.post(path, body);
      assert.equal(r.status, status, `${path} → ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, re);
    }
  });
});
