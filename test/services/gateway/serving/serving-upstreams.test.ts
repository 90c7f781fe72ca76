import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ServingUpstreams } from '../../../../services/gateway/serving/serving-upstreams.js';

test('a replica marked down is skipped for downMs and its in-flight requests end with ECONNRESET', async () => {
  // A replica on a crashed node: the connection stays open, no answer ever comes.
  const hung = http.createServer(() => undefined);
  hung.listen(0, '127.0.0.1');
  await once(hung, 'listening');
  const port = (hung.address() as AddressInfo).port;
  const up = new ServingUpstreams(`http://127.0.0.1:${port},http://127.0.0.1:1`, 1_000, 5_000);
  const agent = new http.Agent({ keepAlive: true });
  up.track(agent);
  try {
    const target = new URL(`http://127.0.0.1:${port}`);
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent });
    req.end();
    const failed = once(req, 'error');
    await once(req, 'socket');
    await new Promise((r) => setTimeout(r, 50));
    up.markDown(target);
    const [err] = (await failed) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET', 'retryable, so the gateway sends it elsewhere');
    for (let i = 0; i < 4; i++) assert.equal(up.pick()?.port, '1', 'the marked replica is skipped');
  } finally {
    agent.destroy();
    hung.closeAllConnections();
    hung.close();
  }
});
