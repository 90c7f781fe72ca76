import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryFormatter, DeliveryRulesDoc, SourceMapping } from '../../../../shared/index.js';
import { matches } from '../../../../services/gateway/delivery/conditions.js';
import { compileFormatter } from '../../../../services/gateway/delivery/formatters.js';
import { mapMessage, splitPush } from '../../../../services/gateway/sources/mapping.js';
import { prediction } from './harness.js';

const p = prediction(1, [0.05, 0.92, 0.03]);

test('conditions: top class, score thresholds, metadata, any/not', async () => {
  assert.equal(await matches({ topClassIn: [1, 5] }, p), true);
  assert.equal(await matches({ topClassIn: [0, 2] }, p), false);
  assert.equal(await matches({ output: 'probabilities', maxScoreOver: 0.9 }, p), true);
  assert.equal(await matches({ maxScoreOver: 0.95 }, p), false);
  assert.equal(await matches({ output: 'missing', maxScoreOver: 0 }, p), false);
  assert.equal(await matches({ metadataEquals: { device: 'cam-7' } }, p), true);
  assert.equal(await matches({ metadataEquals: { device: 'cam-8' } }, p), false);
  assert.equal(await matches({ any: [{ topClassIn: [0] }, { maxScoreUnder: 0.95 }] }, p), true);
  assert.equal(await matches({ not: { topClassIn: [1] } }, p), false);
  assert.equal(await matches({ topClassIn: [1], generationAtLeast: 4 }, p), false);
  assert.equal(await matches({}, p), true);
});

test('template formatter maps, renames, nests, keeps constants and native types', async () => {
  const f = DeliveryFormatter.parse({
    type: 'template',
    template: {
      source: 'swarmml',
      version: 2,
      model: { name: '{{model}}', gen: '{{generation}}' },
      result: { class: '{{outputs.probabilities.argmax}}', score: '{{output.max}}' },
      where: '{{inputs.metadata.site.city}}/{{inputs.metadata.device}}',
      at: '{{time}}',
      missing: '{{inputs.metadata.nope}}',
      list: ['{{rule}}', true],
    },
  });
  const out = await compileFormatter(f)(p, 'r1');
  assert.equal(out.contentType, 'application/json');
  assert.deepEqual(JSON.parse(out.payload), {
    source: 'swarmml',
    version: 2,
    model: { name: 'digits', gen: 3 },
    result: { class: 1, score: 0.92 },
    where: 'Lyon/cam-7',
    at: p.time,
    missing: null,
    list: ['r1', true],
  });
});

test('csv formatter writes one quoted line', async () => {
  const f = DeliveryFormatter.parse({
    type: 'csv',
    columns: ['id', 'model', 'output.argmax', 'output.max', 'inputs.metadata.note', 'output.data'],
  });
  const q = { ...p, inputs: { metadata: { note: 'a,"b"' } } };
  const out = await compileFormatter(f)(q, 'r');
  assert.equal(out.payload, 'p-1,digits,1,0.92,"a,""b""",0.05 0.92 0.03');
  assert.equal(out.contentType, 'text/csv');
});

test('malformed rules and formatters are rejected with the path of the error', () => {
  const r = DeliveryRulesDoc.safeParse({
    rules: [
      { id: 'a', model: 'm', channel: 'c', formatter: 'f', when: { topClassIn: ['x'] } },
      { id: 'a', model: 'm', channel: 'c', formatter: 'f', sample: 2 },
    ],
  });
  assert.ok(!r.success);
  const paths = r.error.issues.map((i) => i.path.join('.'));
  assert.deepEqual(paths.sort(), ['rules.0.when.topClassIn.0', 'rules.1.sample'].sort());
  const f = DeliveryFormatter.safeParse({
    type: 'template',
    template: { a: ['{{outputs.p.argmax}}', '{{oops}}'] },
  });
  assert.ok(!f.success);
  assert.equal(f.error.issues[0]?.path.join('.'), 'template.a.1');
});

test('source mappings: JSON paths, arrays, CSV columns, and rejections with reasons', () => {
  const j = SourceMapping.parse({ format: 'json', features: ['t', 'h.v'], label: 'y' });
  assert.deepEqual(mapMessage(j, Buffer.from('{"t":1.5,"h":{"v":"2"},"y":"cat"}')), {
    ok: true,
    row: { features: [1.5, 2], label: 'cat' },
  });
  assert.deepEqual(mapMessage(j, { t: 'x', h: { v: 1 }, y: 1 }), {
    ok: false,
    error: 't: not a finite number',
  });
  assert.deepEqual(mapMessage(j, 'not json'), { ok: false, error: 'not JSON' });
  const a = SourceMapping.parse({ format: 'json', features: { array: 'x' }, label: 'y' });
  assert.deepEqual(mapMessage(a, { x: [1, 2, 3], y: 0 }), {
    ok: true,
    row: { features: [1, 2, 3], label: 0 },
  });
  const c = SourceMapping.parse({ format: 'csv', features: [0, 2], label: 1 });
  assert.deepEqual(mapMessage(c, '0.5,dog,7\n'), {
    ok: true,
    row: { features: [0.5, 7], label: 'dog' },
  });
  assert.deepEqual(splitPush(c, '1,a,2\n3,b,4\n'), ['1,a,2', '3,b,4']);
  const bad = SourceMapping.safeParse({ format: 'csv', features: [0, 1], label: 1 });
  assert.ok(!bad.success);
  assert.equal(bad.error.issues[0]?.path.join('.'), 'label');
});
