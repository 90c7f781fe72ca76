import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Keys, SessionStore } from '../../shared/index.js';
import { api } from '../helpers/platform.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import {
  hasChromium,
  launchChromium,
  logIn,
  screenshot,
  startServedDashboard,
  storeDigitsWithStats,
  type Dashboard,
} from './harness.js';

const skip = !hasChromium() ? 'no /usr/bin/chromium (apt-get install chromium)' : false;
if (skip) console.log(`dashboard page tests skipped: ${skip}`);

const SESSIONS = 1000;
const row = () => ({
  inputs: [
    {
      name: 'x',
      shape: [1, 64],
      datatype: 'FP32',
      data: Array.from({ length: 64 }, (_, i) => (i % 16) / 16),
    },
  ],
});

describe('dashboard pages in a real browser', { skip }, () => {
  let r: TestRedis;
  let d: Dashboard;
  let browser: Browser;
  let page: Page;
  let failed = 0;

  const infer = () =>
    fetch(`${d.url}/v2/models/digits-served/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(row()),
    }).then((res) => {
      assert.equal(res.status, 200);
      return res.arrayBuffer();
    });

  before(async () => {
    r = await startTestRedis();
    d = await startServedDashboard(r, 'digits-served');
    const keys = new Keys(d.platform.prefix);
    await storeDigitsWithStats(d, r.client());
    const sessions = new SessionStore(r.client(), keys);
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => {
        const s = await sessions.create({
          kind: 'train',
          request: { model: `m-${i % 7}`, dataset: `digits@${(i % 3) + 1}`, trainer: 'mlp' },
        });
        if (i % 5 === 0) {
          await sessions.transition(s.id, 'starting', {
            placement: { backend: 'process', node: 'local' },
            workerId: String(10_000 + i),
          });
          await sessions.transition(s.id, 'running');
          await sessions.transition(s.id, 'failed', { exitCode: 137 });
          failed++;
        }
      }),
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await logIn(page, d.url, d.token);
  });
  after(async () => {
    await browser?.close();
    await d?.close();
    await r?.stop();
  });

  test(`the Sessions page renders ${SESSIONS} sessions quickly, and filters and sorts them`, async () => {
    await page.goto(`${d.url}/#/models`);
    await page.locator('[data-page="models"]').waitFor();
    const ms = await page.evaluate(async (n) => {
      const t0 = performance.now();
      location.hash = '#/sessions';
      for (;;) {
        if (document.querySelectorAll('table.sessions tbody tr').length === n)
          return performance.now() - t0;
        await new Promise(requestAnimationFrame);
      }
    }, SESSIONS);
    console.log(`# sessions page: ${SESSIONS} rows in ${ms.toFixed(0)} ms (goal < 1 s)`);
    // The goal is 1 s (121–390 ms here); the gate leaves room for a CI machine whose cores
    // are shared, so that only a real regression (say, a render per row) fails it.
    assert.ok(ms < 3000, `took ${ms} ms`);
    await screenshot(page, 'sessions', { fullPage: false });

    await page.getByLabel('State').selectOption('failed');
    await page.waitForFunction(
      (n) => document.querySelectorAll('table.sessions tbody tr').length === n,
      failed,
    );
    assert.equal(
      await page.locator('table.sessions tbody tr[data-state="failed"]').count(),
      failed,
    );
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Filter').fill('m-3');
    // The filter applies as the page re-renders: wait until the table settles on a subset.
    await page.waitForFunction(() => {
      const n = document.querySelectorAll('table.sessions tbody tr').length;
      return n > 100 && n < 200;
    });
    const m3 = await page.locator('table.sessions tbody tr').count();
    assert.ok(m3 > 100 && m3 < 200, `${m3} rows for m-3`);
    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: 'Exit code' }).click();
    await page.getByRole('button', { name: 'Exit code' }).click();
    assert.equal(await page.locator('th[data-key="exit"]').getAttribute('aria-sort'), 'descending');
    assert.equal(
      await page.locator('table.sessions tbody tr').first().getAttribute('data-state'),
      'failed',
    );
  });

  test("the Serving page's request counter rises while a load runs", async () => {
    await infer();
    await page.goto(`${d.url}/#/serving`);
    const counter = page.locator('.card[data-model="digits-served"] .requests .value');
    await counter.waitFor({ timeout: 10_000 });
    const before = Number((await counter.innerText()).replace(/,/g, ''));
    let running = true;
    let sent = 0;
    const load = (async () => {
      const until = Date.now() + 20_000;
      // Bounded: 4 connections for at most 20 s against this machine's own serving process
      // (it stops as soon as the page has shown the counter rise).
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (running && Date.now() < until) {
            await infer();
            sent++;
          }
        }),
      );
    })();
    await page.waitForFunction(
      ([sel, n]) =>
        Number(document.querySelector(sel as string)?.textContent?.replace(/,/g, '')) >
        (n as number),
      ['.card[data-model="digits-served"] .requests .value', before + 20],
      { timeout: 20_000 },
    );
    const stillRunning = running && sent > 0;
    running = false;
    await load;
    assert.ok(stillRunning, 'the counter rose while the load ran');
    const after = Number((await counter.innerText()).replace(/,/g, ''));
    assert.ok(after > before, `${before} → ${after}`);
    await page.waitForFunction(
      () =>
        Number(
          document
            .querySelector('.card[data-model="digits-served"] figure.chart')
            ?.getAttribute('data-points'),
        ) >= 1,
    );
    await screenshot(page, 'serving');
  });

  test('the Datasets page shows versions, statistics and the label histogram', async () => {
    await page.goto(`${d.url}/#/datasets`);
    await page.locator('table.versions tr[data-version="1"]').waitFor({ timeout: 15_000 });
    const bars = page.locator('[data-testid="label-histogram"] tbody tr');
    await bars.first().waitFor();
    assert.equal(await bars.count(), 10);
    assert.match(await page.locator('.dataset-stats').innerText(), /1,797 rows/);
    await screenshot(page, 'datasets');
  });

  test('the Cluster page lists the local processes and the session workers', async () => {
    await page.goto(`${d.url}/#/cluster`);
    const processes = page.getByRole('table', { name: 'Processes' });
    await processes.waitFor({ timeout: 15_000 });
    const text = await processes.innerText();
    assert.match(text, /gateway/);
    assert.match(text, /event-handler\s+\S+\s+up/);
    assert.match(text, /serving-1\s+\S+\s+up/);
    assert.match(await page.locator('[data-page="cluster"]').innerText(), /Mode: local/);
    await screenshot(page, 'cluster');
  });

  test('a viewer sees everything read-only', async () => {
    const made = await api(d.platform, 'POST', '/api/v1/tokens', {
      name: 'watcher',
      role: 'viewer',
    });
    assert.equal(made.status, 201);
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await logIn(viewer, d.url, made.body.token as string);
      assert.match(await viewer.locator('header.top .who').innerText(), /watcher · viewer/);
      const running = await new SessionStore(r.client(), new Keys(d.platform.prefix)).create({
        kind: 'train',
        request: { model: 'x', dataset: 'digits' },
      });
      await viewer.goto(`${d.url}/#/session/${running.id}`);
      await viewer.locator('dl.facts[data-state="queued"]').waitFor();
      assert.equal(await viewer.getByRole('button', { name: 'Stop session' }).count(), 0);
      await viewer.goto(`${d.url}/#/sessions`);
      await viewer.locator('table.sessions tbody tr').first().waitFor();
    } finally {
      await viewer.close();
    }
  });
});
