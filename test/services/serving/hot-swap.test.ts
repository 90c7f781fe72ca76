/**
 * Promotions under load swap generations atomically, in every hosting mode (a model process,
 * a model thread, serving's own thread): 64 clients, no failures, every answer from one generation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { addConstantModel } from '../../helpers/onnx-models.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

for (const mode of ['process', 'thread', 'inline'] as const) {
  describe(`hosting ${mode}`, () => {
    let s: Serving;
    let src: InMemoryModelSource;
    before(async () => {
      src = new InMemoryModelSource();
      for (const gen of [1, 2, 3])
        src.put('add', gen, addConstantModel({ value: gen }), { production: gen === 1 });
      s = await startServing(src, { PINNED_MAX: '1', HOSTING_MODE: mode });
      assert.equal(s.app.fleet.process('add')!.mode, mode);
    });
    after(() => s.stop());

    test('hot swap under 64 concurrent clients: no failures, every answer from one generation', async () => {
      const host = s.app.fleet.host('add')!;
      const seen: { gen: number; ok: boolean; sent: number; why?: string }[] = [];
      let stop = false;
      const client = async (c: number) => {
        for (let j = 0; !stop; j++) {
          const x = [c, j, 0.5, -1];
          const sent = performance.now();
          const r = await s.post('/v2/models/add/infer', v2Body('x', [1, 4], x));
          if (r.status !== 200) {
            seen.push({ gen: -1, ok: false, sent, why: `${r.status} ${JSON.stringify(r.body)}` });
            continue;
          }
          const gen = Number(r.body.model_version);
          const want = x.map((v) => v + gen);
          const got: number[] = r.body.outputs[0].data;
          seen.push({
            gen,
            ok: got.every((v, i) => v === want[i]),
            sent,
            why: `gen ${gen} gave ${got.join(',')}`,
          });
        }
      };
      const clients = [...Array(64).keys()].map(client);
      const liveAt: number[] = [];
      try {
        await waitFor(() => seen.length > 300, {
          what: 'traffic on generation 1',
          timeoutMs: 20_000,
        });
        src.promote('add', 2);
        await waitFor(() => host.gen === 2, { what: 'switch to 2' });
        liveAt[2] = performance.now();
        await waitFor(() => seen.filter((r) => r.gen === 2).length > 300, {
          what: 'generation 2 answers',
          timeoutMs: 20_000,
        });
        src.promote('add', 3);
        await waitFor(() => host.gen === 3, { what: 'switch to 3' });
        liveAt[3] = performance.now();
        await waitFor(() => seen.filter((r) => r.gen === 3).length > 300, {
          what: 'generation 3 answers',
          timeoutMs: 20_000,
        });
      } finally {
        stop = true;
        await Promise.all(clients);
      }
      const bad = seen.filter((r) => !r.ok);
      assert.equal(bad.length, 0, `${bad.length} bad answers, e.g. ${bad[0]?.why}`);
      for (const g of [1, 2, 3]) {
        assert.ok(
          seen.some((r) => r.gen === g),
          `generation ${g} never answered`,
        );
      }
      // The switch is atomic: nothing sent after generation N went live got an older answer.
      for (const g of [2, 3]) {
        const stale = seen.filter((r) => r.sent > liveAt[g]! && r.gen < g);
        assert.equal(
          stale.length,
          0,
          `${stale.length} requests sent after gen ${g} went live got older answers`,
        );
      }
      await waitFor(() => host.loadedVersions().join() === '3', {
        what: 'old generations unloaded',
      });

      const text = (await s.get('/metrics')).body as string;
      const sum = metricValue(text, 'swarmml_serving_batch_size_sum\\{model="add"\\}');
      const count = metricValue(text, 'swarmml_serving_batch_size_count\\{model="add"\\}');
      assert.ok(
        sum / count > 1,
        `mean batch ${sum / count} (${sum} rows in ${count} runs): batching did not batch`,
      );
    });

    test('pinned versions load on demand, answer from that generation, and stay LRU-bounded', async () => {
      const host = s.app.fleet.host('add')!;
      const v1 = await s.post('/v2/models/add/versions/1/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
      assert.equal(v1.status, 200);
      assert.equal(v1.body.model_version, '1');
      assert.deepEqual(v1.body.outputs[0].data, [1, 1, 1, 1]);
      assert.deepEqual(host.loadedVersions(), [1, 3]);
      const v2 = await s.post('/v2/models/add/versions/2/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
      assert.equal(v2.body.model_version, '2');
      await waitFor(() => host.loadedVersions().join() === '2,3', { what: 'generation 1 evicted' });
      const prod = await s.post('/v2/models/add/infer', v2Body('x', [1, 4], [0, 0, 0, 0]));
      assert.equal(prod.body.model_version, '3');
      assert.equal((await s.get('/v2/models/add/versions/2/ready')).status, 200);
      assert.equal((await s.get('/v2/models/add/versions/1/ready')).status, 503);
    });
  });
}
