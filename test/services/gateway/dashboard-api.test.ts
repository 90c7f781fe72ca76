import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, type ServingMetrics } from '../../../services/serving/metrics.js';
import { EventLog, Keys, ModelRegistry, SessionStore, freePort } from '../../../shared/index.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

describe('dashboard API: events, dataset usage, serving history, compressed static files', () => {
  let r: TestRedis;
  let g: TestGateway;
  let dir: string;
  let metricsServer: Server;
  let metrics: ServingMetrics;
  let viewer: string;
  const get = async (path: string, token = g.adminToken) => {
    const res = await fetch(`${g.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const body: any = await res.json();
    return { status: res.status, body };
  };

  before(async () => {
    r = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), 'swarmml-dash-api-'));
    execFileSync(process.execPath, ['scripts/build-web.mjs', '--outdir', dir], { stdio: 'pipe' });
    metrics = createMetrics({ queueDepths: () => [] });
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') res.writeHead(404).end();
      else void metrics.registry.metrics().then((text) => res.end(text));
    });
    await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${await freePort()}`;
    g = await startTestGateway(r, {
      env: {
        DASHBOARD_DIR: dir,
        SERVING_UPSTREAM: `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`,
        EVENT_HANDLER_URL: closed,
        INTAKE_URL: closed,
        SERVING_HISTORY_MS: '200',
      },
    });
    const made = await fetch(`${g.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'watcher', role: 'viewer' }),
    });
    viewer = ((await made.json()) as { token: string }).token;
  });
  after(async () => {
    await g?.close();
    metricsServer?.close();
    await r?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('events: newest first, filtered by kind, model, session and time; security for admins only', async () => {
    const log = new EventLog(r.client(), new Keys(g.prefix));
    const t0 = new Date().toISOString();
    await log.append({ kind: 'session.queued', sessionId: 's1', payload: { model: 'a' } });
    await log.append({
      kind: 'decision',
      sessionId: 's1',
      payload: { action: 'accept', model: 'a', gen: 1, reason: 'better', rule: 'accept' },
    });
    await log.append({ kind: 'serving.drift', payload: { model: 'b', psi: 0.4, threshold: 0.2 } });
    await log.append({ kind: 'security.denied', payload: { reason: 'no', model: 'a' } });

    const all = await get('/api/v1/events');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.events.map((e: { kind: string }) => e.kind),
      ['security.denied', 'serving.drift', 'decision', 'session.queued'],
    );
    const asViewer = await get('/api/v1/events', viewer);
    assert.ok(!asViewer.body.events.some((e: { kind: string }) => e.kind === 'security.denied'));
    const decisions = await get('/api/v1/events?kind=decision,serving.*');
    assert.deepEqual(
      decisions.body.events.map((e: { kind: string }) => e.kind),
      ['serving.drift', 'decision'],
    );
    const ofA = await get('/api/v1/events?model=a&session=s1');
    assert.equal(ofA.body.events.length, 2);
    const later = await get(
      `/api/v1/events?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    assert.equal(later.body.events.length, 0);
    const since = await get(`/api/v1/events?from=${encodeURIComponent(t0)}&limit=1`);
    assert.equal(since.body.events.length, 1);
    assert.equal((await get('/api/v1/events?limit=0')).status, 400);
  });

  test('dataset usage names the generations trained on a version and the sessions that used it', async () => {
    const keys = new Keys(g.prefix);
    const sessions = new SessionStore(r.client(), keys);
    const used = await sessions.create({ kind: 'train', request: { model: 'u', dataset: 'ds@2' } });
    await sessions.create({ kind: 'train', request: { model: 'u', dataset: 'ds@1' } });
    const reg = new ModelRegistry(r.client(), keys);
    await reg.ensureModel('u', { type: 'mlp' });
    const producer = await sessions.create({
      kind: 'train',
      request: { model: 'u', dataset: 'ds' },
    });
    await reg.addGeneration('u', {
      weights: Buffer.from('w'),
      metrics: {},
      params: {},
      lineage: { dataset: 'ds', version: 2 },
      sessionId: producer.id,
    });
    const res = await get('/api/v1/datasets/ds/versions/2/usage');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.generations.map((x: { model: string; gen: number }) => `${x.model}/${x.gen}`),
      ['u/1'],
    );
    assert.deepEqual(
      res.body.sessions.map((s: { id: string }) => s.id).sort(),
      [used.id, producer.id].sort(),
    );
  });

  test('serving history keeps samples per model in Redis, for a reload', async () => {
    const reg = new ModelRegistry(r.client(), new Keys(g.prefix));
    await reg.ensureModel('served', { type: 'mlp' });
    metrics.requests.inc({ model: 'served', protocol: 'v2' }, 5);
    const samples = await waitFor(
      async () => {
        const res = await get('/api/v1/serving/history', viewer);
        const s = res.body.models.served as { t: number; requests: number }[] | undefined;
        return s && s.length >= 2 ? s : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(samples.at(-1)!.requests, 5);
    assert.ok(samples[0]!.t <= samples.at(-1)!.t, 'oldest first');
  });

  test('static files: brotli or gzip, hashed names cached a year, the page revalidated', async () => {
    const app = readdirSync(dir).find((f) => /^app-[A-Z0-9]{8}\.js$/.test(f));
    assert.ok(app, 'the build names its bundle with a hash');
    const page = await fetch(`${g.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(await page.text(), new RegExp(app.replace('.', '\\.')));

    const br = await fetch(`${g.url}/${app}`, { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(br.headers.get('content-encoding'), 'br');
    assert.match(br.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
    const brBytes = Buffer.from(await br.arrayBuffer());
    const gz = await fetch(`${g.url}/${app}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    const plain = await fetch(`${g.url}/${app}`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    const raw = Buffer.from(await plain.arrayBuffer());
    // fetch decodes bodies it asked for: compare the decoded sizes with the raw file.
    assert.equal(brBytes.length, raw.length);
    assert.ok(Number(gz.headers.get('content-length')) < raw.length / 2, 'gzip halves it at least');
    const again = await fetch(`${g.url}/${app}`, {
      headers: { 'if-none-match': br.headers.get('etag') ?? '' },
    });
    assert.equal(again.status, 304);
  });
});
