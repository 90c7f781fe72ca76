/**
 * A replica that stops answering (its process stopped with SIGSTOP: the connections stay
 * open, nothing comes back, as on a node that died) is given up after the route's response
 * deadline: it is marked down, the requests waiting on it go to the other replica, and the
 * clients see no failed request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../../shared/index.js';
import type { Authenticator } from '../../../../services/gateway/http/authenticate.js';
import { createInferenceProxy } from '../../../../services/gateway/serving/inference-proxy.js';
import { ResponseDeadlines } from '../../../../services/gateway/serving/response-deadlines.js';
import { ServingUpstreams } from '../../../../services/gateway/serving/serving-upstreams.js';
import { createServingAgent } from '../../../../services/gateway/serving/replica-requests.js';
import { ReplicaHttp } from '../../../../services/gateway/grpc/replica-http.js';

// A serving replica reduced to its protocol: answers every infer call with its pid.
const REPLICA = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ model_name: 'm', outputs: [], pid: process.pid });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));
`;

async function startReplica(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', REPLICA], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

let replicas: Array<{ child: ChildProcess; port: number }> = [];
let gateway: http.Server;
let url: string;
let upstreams: ServingUpstreams;

before(async () => {
  replicas = await Promise.all([startReplica(), startReplica()]);
  upstreams = new ServingUpstreams(
    replicas.map((r) => `http://127.0.0.1:${r.port}`).join(','),
    1_000,
    5_000,
  );
  // The token check is not what is tested here: every caller is let through.
  const auth = { check: async () => ({ id: 'client' }) } as unknown as Authenticator;
  const proxy = createInferenceProxy({
    upstreams,
    auth,
    log: createLogger('test', 'silent'),
    maxBodyBytes: 1024 * 1024,
    responseDeadlines: { floorMs: 400, initialMs: 400 },
  });
  gateway = http.createServer((req, res) => void proxy.handle(req, res));
  gateway.listen(0, '127.0.0.1');
  await once(gateway, 'listening');
  url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v2/models/m/infer`;
});

after(async () => {
  for (const r of replicas) {
    r.child.kill('SIGCONT');
    r.child.kill('SIGKILL');
  }
  gateway?.closeAllConnections();
  gateway?.close();
  upstreams?.close();
});

test('a stopped replica is given up after the response deadline: 0 failed requests', async () => {
  const stopped = replicas[0]!;
  const clients = 8;
  let failed = 0;
  let ok = 0;
  let slowest = 0;
  const byPidAfterStop = new Map<number, number>();
  let stopAt = Infinity;
  let running = true;
  const loop = async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [] }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { pid: number };
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        ok++;
        if (t0 > stopAt) byPidAfterStop.set(body.pid, (byPidAfterStop.get(body.pid) ?? 0) + 1);
      } catch {
        failed++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
  };
  const loops = Array.from({ length: clients }, loop);
  // Load on both replicas first, so requests are in flight to the one about to stop.
  const warm = Date.now() + 10_000;
  while (ok < 200 && Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
  stopped.child.kill('SIGSTOP');
  stopAt = performance.now();
  await new Promise((r) => setTimeout(r, 2_500));
  running = false;
  await Promise.all(loops);
  console.log(
    `response deadline: ${ok} answered, ${failed} failed, slowest ${Math.round(slowest)} ms ` +
      `(deadline 400 ms floor), after the stop by pid ${JSON.stringify([...byPidAfterStop])}`,
  );
  assert.equal(failed, 0);
  assert.equal(
    byPidAfterStop.get(stopped.child.pid!) ?? 0,
    0,
    'nothing answered by the stopped one',
  );
  assert.ok((byPidAfterStop.get(replicas[1]!.child.pid!) ?? 0) > 0, 'the other one answered');
  assert.ok(slowest < 10_000, 'no request waited for the client timeout');
});

test('deadlines follow each route: the floor for fast routes, a multiple of a slow one', () => {
  const d = new ResponseDeadlines({ floorMs: 3_000, factor: 10, initialMs: 30_000 });
  assert.equal(d.timeoutFor('/v2/models/new/infer'), 30_000, 'unknown route: the initial one');
  for (let i = 0; i < 50; i++) d.observe('/v2/models/fast/infer', 2);
  assert.equal(d.timeoutFor('/v2/models/fast/infer'), 3_000);
  d.observe('/v2/models/big/infer', 8_000);
  assert.equal(d.timeoutFor('/v2/models/big/infer'), 80_000);
  for (let i = 0; i < 1000; i++) d.observe('/v2/models/big/infer', 100);
  assert.ok(d.timeoutFor('/v2/models/big/infer') < 80_000, 'a slow outlier fades');
});

test("the gRPC front's replica calls have the same deadline: 0 failed calls", async () => {
  const pair = await Promise.all([startReplica(), startReplica()]);
  const ups = new ServingUpstreams(
    pair.map((r) => `http://127.0.0.1:${r.port}`).join(','),
    1_000,
    5_000,
  );
  const agent = createServingAgent();
  const replicaHttp = new ReplicaHttp(
    ups,
    agent,
    undefined,
    new ResponseDeadlines({ floorMs: 400, initialMs: 400 }),
  );
  try {
    let failed = 0;
    let ok = 0;
    let stopAt = Infinity;
    const afterStop = new Map<number, number>();
    let running = true;
    const call = async () => {
      while (running) {
        const t0 = performance.now();
        try {
          const a = await replicaHttp.request({
            method: 'POST',
            path: '/v2/models/m/infer',
            body: Buffer.from('{"inputs":[]}'),
          });
          if (a.status !== 200) throw new Error(`status ${a.status}`);
          ok++;
          const { pid } = JSON.parse(a.body.toString()) as { pid: number };
          if (t0 > stopAt) afterStop.set(pid, (afterStop.get(pid) ?? 0) + 1);
        } catch {
          failed++;
        }
      }
    };
    const loops = Array.from({ length: 4 }, call);
    const warm = Date.now() + 10_000;
    while (ok < 100 && Date.now() < warm) await new Promise((r) => setTimeout(r, 20));
    pair[0].child.kill('SIGSTOP');
    stopAt = performance.now();
    await new Promise((r) => setTimeout(r, 2_000));
    running = false;
    await Promise.all(loops);
    assert.equal(failed, 0);
    assert.equal(afterStop.get(pair[0].child.pid!) ?? 0, 0, 'nothing answered by the stopped one');
    assert.ok((afterStop.get(pair[1].child.pid!) ?? 0) > 0, 'the other one answered');
  } finally {
    for (const r of pair) {
      r.child.kill('SIGCONT');
      r.child.kill('SIGKILL');
    }
    agent.destroy();
    ups.close();
  }
});
