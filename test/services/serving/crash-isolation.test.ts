/**
 * A model worker that dies takes only its own model, in both hosting modes: a model process
 * killed with SIGKILL, a model thread ended by an uncaught exception. The other model keeps
 * answering, the dead one answers 503 fast and is back within seconds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { addConstantModel } from '../../helpers/onnx-models.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

interface Outcome {
  model: string;
  status: number;
  ms: number;
  /** when the request was sent */
  sent: number;
  at: number;
  error?: string;
}

const MODES = [
  { mode: 'process', crash: 'SIGKILL of its model process' },
  { mode: 'thread', crash: 'an uncaught exception in its model thread' },
] as const;

for (const { mode, crash } of MODES) {
  describe(`hosting ${mode}`, () => {
    let s: Serving;
    before(async () => {
      const src = new InMemoryModelSource()
        .put('a', 1, addConstantModel({ value: 1 }), { production: true })
        .put('b', 1, addConstantModel({ value: 2 }), { production: true });
      s = await startServing(src, { SPARE_PROCESS: '1', HOSTING_MODE: mode });
    });
    after(() => s.stop());

    test(`${crash}: the other model never notices, the dead one is back fast`, async () => {
      const results: Outcome[] = [];
      let stop = false;
      const loop = async (model: string) => {
        while (!stop) {
          const sent = Date.now();
          const t0 = performance.now();
          const r = await s.post(`/v2/models/${model}/infer`, v2Body('x', [1, 4], [1, 2, 3, 4]));
          results.push({
            model,
            status: r.status,
            ms: performance.now() - t0,
            sent,
            at: Date.now(),
            error: r.body.error,
          });
          // Clients back off on 503 as real ones do; a tight retry loop in this same process
          // would starve the restarting model worker of CPU.
          if (r.status === 503) await delay(20);
        }
      };
      const loops = [...Array(4)].flatMap(() => [loop('a'), loop('b')]);
      try {
        await waitFor(() => results.filter((r) => r.model === 'a').length > 20, {
          what: 'warm traffic',
        });
        const procA = s.app.fleet.processes().find((p) => p.group === 'a')!;
        assert.equal(procA.hosting, mode);
        const killedAt = Date.now();
        if (mode === 'process') process.kill(procA.pid!, 'SIGKILL');
        else await s.app.fleet.process('a')!.fault('throw');
        await waitFor(
          () => results.some((r) => r.model === 'a' && r.at > killedAt && r.status === 503),
          { what: '503 for the killed model' },
        );
        const first503 = results.find((r) => r.model === 'a' && r.status === 503)!;
        // Sent after a 503 came back: answered by the new worker, not flushed from the old one.
        const back = await waitFor(
          () => results.find((r) => r.model === 'a' && r.status === 200 && r.sent > first503.at),
          { timeoutMs: 10_000, what: 'the killed model answering again' },
        );
        const recoveredAt = back.at;
        console.log(`${mode}: killed model answered again after ${recoveredAt - killedAt} ms`);
        assert.ok(recoveredAt - killedAt < 5_000, `back after ${recoveredAt - killedAt} ms`);
        const seen = results.length;
        await waitFor(() => results.length > seen + 40, { what: 'traffic after recovery' });
      } finally {
        stop = true;
        await Promise.all(loops);
      }
      const bad = results.filter((r) => r.model === 'b' && r.status !== 200);
      assert.equal(bad.length, 0, `model b saw errors: ${JSON.stringify(bad.slice(0, 3))}`);
      const aFails = results.filter((r) => r.model === 'a' && r.status !== 200);
      assert.ok(aFails.length > 0);
      for (const f of aFails) {
        assert.equal(f.status, 503, JSON.stringify(f));
        assert.ok(f.ms < 5_000, `a 503 took ${f.ms} ms`); // answered, not left hanging
      }
      assert.match(aFails[0]!.error!, /model process of "a" (died|is restarting)/);
      const procA = s.app.fleet.processes().find((p) => p.group === 'a')!;
      assert.equal(procA.restarts, 1);
      assert.equal(procA.state, 'ready');
      assert.equal(procA.hosting, mode);
      assert.equal(s.app.fleet.processes().find((p) => p.group === 'b')!.restarts, 0);
      const m = await s.get('/metrics');
      assert.match(m.body, /swarmml_serving_process_restarts_total\{group="a"\} 1/);
    });
  });
}
