import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type ServingMetrics } from '../../../services/serving/metrics.js';
import {
  histogramQuantile,
  parsePrometheus,
  summarise,
} from '../../../services/gateway/serving/serving-stats.js';
import { EventLog, Keys, freePort } from '../../../shared/index.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { TestWs } from '../../helpers/ws-client.js';

describe('serving figures from Prometheus text', () => {
  test('quantiles interpolate inside the bucket, as Prometheus does', () => {
    const b = new Map([
      [0.01, 50],
      [0.02, 90],
      [0.05, 100],
      [Infinity, 100],
    ]);
    assert.equal(histogramQuantile(0.5, b), 0.01);
    assert.ok(Math.abs(histogramQuantile(0.7, b)! - 0.015) < 1e-12);
    assert.equal(histogramQuantile(0.5, new Map([[Infinity, 0]])), null);
  });

  test("the serving service's own metrics fold into per-model figures", async () => {
    const m = createMetrics({ queueDepths: () => [['a', 3]] });
    for (let i = 0; i < 10; i++) {
      m.requests.inc({ model: 'a', protocol: 'v2' });
      m.latency.observe({ model: 'a', protocol: 'v2' }, 0.004);
    }
    m.requests.inc({ model: 'a', protocol: 'tfserving' }, 5);
    m.errors.inc({ model: 'a', protocol: 'v2', status: '400' }, 2);
    m.batchSize.observe({ model: 'a' }, 4);
    m.batchSize.observe({ model: 'a' }, 8);
    m.restarts.inc({ group: 'a+b' });
    const samples = parsePrometheus(await m.registry.metrics());
    const [a, b] = summarise(samples);
    assert.equal(a!.model, 'a');
    assert.equal(a!.requests, 15);
    assert.equal(a!.errors, 2);
    assert.equal(a!.batchAvg, 6);
    assert.equal(a!.queueDepth, 3);
    assert.equal(a!.restarts, 1);
    assert.equal(b!.model, 'b', 'a process group restart counts for each of its models');
    assert.equal(b!.restarts, 1);
    assert.ok(a!.p50Ms! > 2 && a!.p50Ms! <= 5, `p50 ${a!.p50Ms}`);
    assert.equal(a!.drift, null);
  });

  test('label values with escapes parse', () => {
    const [s] = parsePrometheus('x_total{model="a\\"b",le="+Inf"} 7 1700000000\n# HELP y\n');
    assert.deepEqual(s, { name: 'x_total', labels: { model: 'a"b', le: '+Inf' }, value: 7 });
  });
});

describe('dashboard and cluster routes', () => {
  let r: TestRedis;
  let g: TestGateway;
  let dir: string;
  let metricsServer: Server;
  let metrics: ServingMetrics;
  const auth = () => ({ authorization: `Bearer ${g.adminToken}` });

  before(async () => {
    r = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), 'swarmml-dash-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    metrics = createMetrics({ queueDepths: () => [] });
    // A stand-in serving replica that exposes the real serving metrics registry.
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') res.writeHead(404).end();
      else void metrics.registry.metrics().then((text) => res.end(text));
    });
    await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
    const servingUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;
    // Nothing listens on a just-freed port: the event handler and data-intake read as down.
    const closed = `http://127.0.0.1:${await freePort()}`;
    g = await startTestGateway(r, {
      env: {
        DASHBOARD_DIR: dir,
        SERVING_UPSTREAM: servingUrl,
        EVENT_HANDLER_URL: closed,
        INTAKE_URL: closed,
      },
    });
  });
  after(async () => {
    await g?.close();
    metricsServer?.close();
    await r?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the page is served at / with a content security policy; API 404s stay JSON', async () => {
    const page = await fetch(`${g.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const api = await fetch(`${g.url}/api/v1/nothing-here`, { headers: auth() });
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: string }).error, 'NOT_FOUND');
    const v2 = await fetch(`${g.url}/api/index.html`);
    assert.match(v2.headers.get('content-type') ?? '', /json/);
  });

  test('whoami answers the role behind a token, 401 for a wrong one', async () => {
    const me = await fetch(`${g.url}/api/v1/whoami`, { headers: auth() });
    assert.deepEqual(await me.json(), { name: 'bootstrap admin', role: 'admin' });
    const bad = await fetch(`${g.url}/api/v1/whoami`, {
      headers: { authorization: 'Bearer wrong' },
    });
    assert.equal(bad.status, 401);
  });

  test('cluster lists the processes, with those not running marked down', async () => {
    const res = await fetch(`${g.url}/api/v1/cluster`, { headers: auth() });
    const c = (await res.json()) as {
      mode: string;
      processes: { name: string; up: boolean }[];
      workers: unknown[];
    };
    assert.equal(c.mode, 'local');
    const by = Object.fromEntries(c.processes.map((p) => [p.name, p.up]));
    assert.equal(by.gateway, true);
    assert.equal(by['serving-1'], false, 'the stand-in has no health route');
    assert.equal(by['event-handler'], false, 'no event handler runs in this test');
    assert.equal(by['data-intake'], false);
    assert.deepEqual(c.workers, []);
  });

  test('metrics subscribers get serving.stats pushed each second, never archived', async () => {
    metrics.requests.inc({ model: 'm', protocol: 'v2' }, 3);
    const ws = await TestWs.open(`${g.url.replace('http', 'ws')}/api/v1/ws`, g.adminToken);
    try {
      const reply = await ws.request({ op: 'subscribe', id: 's1', topics: ['metrics'] });
      assert.equal(reply.ok, true);
      const first = await ws.next(
        (m) => m.op === 'event' && m.event.kind === 'serving.stats',
        15_000,
      );
      assert.equal(first.topic, 'metrics');
      assert.match(first.event.id, /^live-\d+$/);
      assert.equal(first.event.payload.models[0].requests, 3);
      metrics.requests.inc({ model: 'm', protocol: 'v2' }, 4);
      const later = await ws.next(
        (m) => m.op === 'event' && m.event.payload?.models?.[0]?.requests === 7,
        15_000,
      );
      assert.equal(later.event.kind, 'serving.stats');
      const archived = await new EventLog(r.client(), new Keys(g.prefix)).range({ count: 1000 });
      assert.equal(archived.filter((e) => e.kind === 'serving.stats').length, 0);
    } finally {
      ws.close();
    }
  });
});

describe("the event handler's swarm report in the cluster view", () => {
  let r: TestRedis;
  let g: TestGateway;
  let handler: Server;
  let report: unknown;
  const swarm = {
    mode: 'swarm',
    nodes: [
      {
        id: 'n1',
        hostname: 'box-1',
        role: 'manager',
        state: 'ready',
        availability: 'active',
        labels: { gpu: 'true' },
      },
    ],
    services: [{ name: 'swarmml_serving', image: 'swarmml/app:1', replicas: 2, running: 2 }],
  };

  before(async () => {
    r = await startTestRedis();
    // A stand-in event handler whose /cluster answer each test chooses.
    handler = createServer((req, res) => {
      if (req.url === '/cluster')
        res.setHeader('content-type', 'application/json').end(JSON.stringify(report));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => handler.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${await freePort()}`;
    g = await startTestGateway(r, {
      env: {
        EVENT_HANDLER_URL: `http://127.0.0.1:${(handler.address() as AddressInfo).port}`,
        INTAKE_URL: closed,
        SERVING_UPSTREAM: closed,
      },
    });
  });
  after(async () => {
    await g?.close();
    handler?.close();
    await r?.stop();
  });

  const cluster = async () =>
    (await (
      await fetch(`${g.url}/api/v1/cluster`, {
        headers: { authorization: `Bearer ${g.adminToken}` },
      })
    ).json()) as { mode: string; swarm?: unknown };

  test('a valid swarm report is passed on and makes the mode swarm', async () => {
    report = swarm;
    const c = await cluster();
    assert.equal(c.mode, 'swarm');
    assert.deepEqual(c.swarm, swarm);
  });

  test('a report that does not match the schema is left out, not passed on', async () => {
    report = { ...swarm, nodes: [{ id: 'n1', hostname: 7 }] };
    const c = await cluster();
    assert.equal(c.mode, 'local');
    assert.equal(c.swarm, undefined);
    report = { mode: 'local' };
    assert.equal((await cluster()).swarm, undefined);
  });
});
