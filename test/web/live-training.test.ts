import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Queue } from 'bullmq';
import { DatasetStore, Keys, QUEUES } from '../../shared/index.js';
import { api, startLongTraining } from '../helpers/platform.js';
import { storeDigits } from '../helpers/datasets.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import {
  hasChromium,
  launchChromium,
  logIn,
  recordPoints,
  screenshot,
  startDashboard,
  type Dashboard,
} from './harness.js';

const skip = !hasChromium() ? 'no /usr/bin/chromium (apt-get install chromium)' : false;
if (skip) console.log(`dashboard live-training tests skipped: ${skip}`);

describe('dashboard: live training in a real browser', { skip }, () => {
  let r: TestRedis;
  let d: Dashboard;
  let browser: Browser;
  let page: Page;
  let sessions: Queue;

  before(async () => {
    r = await startTestRedis();
    // No periodic checkpoint: the trainer killed below fails instead of being resumed, even
    // when its first epoch is slow under load (checkpoint-resume.test.ts covers resuming).
    d = await startDashboard(r, { handlerEnv: { CHECKPOINT_EVERY_S: '86400' } });
    await storeDigits(new DatasetStore(r.client(), new Keys(d.platform.prefix)), 'digits');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    sessions = new Queue(QUEUES.sessions, {
      connection: r.client({ forWorker: true }),
      prefix: new Keys(d.platform.prefix).bullPrefix(),
    });
  });
  after(async () => {
    await sessions?.close();
    await browser?.close();
    await d?.close();
    await r?.stop();
  });

  test('a wrong token gets a clear message, not a blank page', async () => {
    await page.goto(d.url);
    await page.getByLabel('API token').fill('not-a-real-token-0123456789');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 5_000 });
    assert.match(await alert.innerText(), /token was not accepted: unknown or revoked API token/);
    await screenshot(page, 'login-wrong-token');
  });

  test('training: the curve gains a point per epoch, live, and the generation appears on Models', async () => {
    await logIn(page, d.url, d.token);
    await page.evaluate(() => ((window as unknown as { noReload: number }).noReload = 1));
    const epochs = 12;
    // Held in the queue (BullMQ's global pause) until the page is watching.
    await sessions.pause();
    const created = await api(d.platform, 'POST', '/api/v1/sessions', {
      model: 'digits-live',
      dataset: 'digits',
      trainer: 'mlp',
      params: { hidden: [96], epochs, batchSize: 16, learningRate: 0.003, seed: 1 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await page.goto(`${d.url}/#/session/${id}`);
    const points = await recordPoints(page, '[data-testid="loss-chart"]');
    // Only now may the session start: a whole training can finish before a slow browser
    // has the page up, and then there would be nothing live to see.
    await sessions.resume();
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >=
        2,
      null,
      { timeout: 30_000 },
    );
    // A dropped socket mid-run: the page resumes from the last event it saw.
    await page.evaluate(() =>
      (window as unknown as { swarmml: { live: { drop(): void } } }).swarmml.live.drop(),
    );
    await page.locator('dl.facts[data-state="succeeded"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      (n) =>
        document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points') ===
        String(n),
      epochs,
      { timeout: 15_000 },
    );
    const seen = await points();
    const live = seen.filter((v, i) => i === 0 || v !== seen[i - 1]);
    assert.ok(
      live[0]! < epochs - 1,
      `the page saw epochs arrive, not only the end: ${live.join(',')}`,
    );
    for (let i = 1; i < live.length; i++)
      assert.equal(live[i], live[i - 1]! + 1, `one point per epoch: ${live.join(',')}`);
    assert.equal(live.at(-1), epochs);
    assert.equal(
      await page.getByTestId('accuracy-chart').getAttribute('data-points'),
      String(epochs),
    );
    assert.equal(await page.getByTestId('exit-code').innerText(), '0');
    await screenshot(page, 'session');

    await page.getByRole('link', { name: 'Models' }).click();
    // The event listener (running in the platform) accepts the candidate: no reload needed to see it.
    const accepted = page.locator('table.generations tr[data-gen="1"][data-status="production"]');
    await accepted.waitFor({ timeout: 15_000 });
    assert.match(await accepted.innerText(), /digits@v1/);
    assert.match(
      await page.locator('.event-log, [data-page="models"]').first().innerText(),
      /production: gen 1/,
    );
    await screenshot(page, 'models');
    assert.equal(
      await page.evaluate(() => (window as unknown as { noReload?: number }).noReload),
      1,
      'the page was never reloaded',
    );
  });

  test('a killed trainer: the session turns failed with exit code 137 on screen', async () => {
    const id = await startLongTraining(d.platform, 'digits-killed');
    await page.goto(`${d.url}/#/session/${id}`);
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) >=
        1,
      null,
      { timeout: 30_000 },
    );
    const s = await waitFor(
      async () => {
        const b = (await api(d.platform, 'GET', `/api/v1/sessions/${id}`)).body;
        return b.workerId ? b : undefined;
      },
      { what: 'worker pid' },
    );
    process.kill(Number(s.workerId), 'SIGKILL');
    await page.locator('dl.facts[data-state="failed"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('exit-code').innerText(), '137');
    assert.equal(
      await page.getByRole('button', { name: 'Stop session' }).count(),
      0,
      'no Stop for a finished session',
    );
    await screenshot(page, 'session-killed');
  });
});
