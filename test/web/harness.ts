/** A platform whose gateway serves a freshly built dashboard, and a headless Chromium to open it. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger, createStatsAccumulator, DatasetStore, Keys } from '../../shared/index.js';
import { InMemoryModelSource } from '../../services/serving/hosting/model-source.js';
import { buildApp, type Gateway } from '../../services/gateway/app.js';
import { loadConfig } from '../../services/gateway/config.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { loadDigits } from '../helpers/datasets.js';
import { mlpModel } from '../helpers/onnx-models.js';
import type { TestRedis } from '../helpers/redis.js';
import { startServing, type Serving } from '../services/serving/harness.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = () => existsSync(CHROMIUM);
export const SCREENSHOTS = 'test-output/screenshots';

export interface Dashboard {
  platform: TestPlatform;
  /** the gateway that serves the page (same Redis, prefix and admin token as the platform) */
  gateway: Gateway;
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Builds web/src into a temp dir with the real build script (esbuild). */
function buildDashboard(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-web-'));
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--outdir', dir], { stdio: 'pipe' });
  return dir;
}

export async function startDashboard(
  r: TestRedis,
  opts: { servingUrl?: string; handlerEnv?: Record<string, string> } = {},
): Promise<Dashboard> {
  const platform = await startTestPlatform(r, { handlerEnv: opts.handlerEnv });
  const dir = buildDashboard();
  const gateway = buildApp({
    config: loadConfig({
      REDIS_URL: r.url,
      SWARMML_PREFIX: platform.prefix,
      ADMIN_TOKEN: platform.token,
      LOG_LEVEL: 'silent',
      EVENT_HANDLER_URL: `http://127.0.0.1:${platform.handlerPort}`,
      DASHBOARD_DIR: dir,
      ...(opts.servingUrl ? { SERVING_UPSTREAM: opts.servingUrl } : {}),
    }),
    log: createLogger('dashboard-test', 'silent'),
    redis: r.client(),
  });
  await gateway.start();
  await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  return {
    platform,
    gateway,
    url,
    token: platform.token,
    async close() {
      await gateway.close();
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A serving replica with `model` generation 1 in production (a 64→32→10 MLP, as the digits
 * fit) and a dashboard whose gateway proxies to it. `close()` stops both.
 */
export async function startServedDashboard(
  r: TestRedis,
  model: string,
): Promise<Dashboard & { serving: Serving }> {
  const serving = await startServing(
    new InMemoryModelSource().put(model, 1, mlpModel([64, 32, 10]), { production: true }),
    { SPARE_PROCESS: 'false' },
  );
  const d = await startDashboard(r, { servingUrl: serving.url }).catch(async (e: unknown) => {
    await serving.stop();
    throw e;
  });
  return {
    ...d,
    serving,
    async close() {
      await d.close();
      await serving.stop();
    },
  };
}

/** Digits as version 1 of `digits` with statistics, the way data-intake commits an upload. */
export async function storeDigitsWithStats(
  d: Dashboard,
  redis: ReturnType<TestRedis['client']>,
  opts: { featureNames?: boolean } = {},
): Promise<void> {
  const { features, labels, rows, dim } = loadDigits();
  const batch = { kind: 'tabular' as const, rows, dim, features, labels };
  const stats = createStatsAccumulator('class');
  stats.add(batch);
  const w = new DatasetStore(redis, new Keys(d.platform.prefix)).beginVersion('digits');
  await w.writeShard(batch);
  await w.commit({
    kind: 'tabular',
    format: 'csv',
    features: dim,
    count: rows,
    labelKind: 'class',
    labelNames: Array.from({ length: 10 }, (_, i) => String(i)),
    ...(opts.featureNames ? { featureNames: Array.from({ length: dim }, (_, i) => `px${i}`) } : {}),
    stats: stats.result(),
  });
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Logs in through the form, as a person would. */
export async function logIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('header.top .live-status[data-status="live"]').waitFor({ timeout: 10_000 });
}

/** Saves `test-output/screenshots/<name>.png` for a person to look at. */
export async function screenshot(
  page: Page,
  name: string,
  opts: { fullPage?: boolean } = {},
): Promise<void> {
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    fullPage: opts.fullPage ?? true,
  });
}

/** Watches an element's `data-points` in the page; `values()` answers every value it took, in order. */
export async function recordPoints(page: Page, selector: string): Promise<() => Promise<number[]>> {
  await page.locator(selector).waitFor();
  await page.evaluate((sel) => {
    const el = document.querySelector(sel)!;
    // Old values, not the value at callback time: several changes may land in one callback.
    const old: number[] = [];
    new MutationObserver((records) => {
      for (const r of records) old.push(Number(r.oldValue));
    }).observe(el, { attributes: true, attributeFilter: ['data-points'], attributeOldValue: true });
    (window as unknown as { __points: () => number[] }).__points = () => [
      ...old,
      Number(el.getAttribute('data-points')),
    ];
  }, selector);
  return () => page.evaluate(() => (window as unknown as { __points: () => number[] }).__points());
}
