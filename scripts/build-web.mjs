#!/usr/bin/env node
// Bundles the dashboard (web/src) into web/dist with esbuild: one script, one stylesheet and
// the page, uPlot included, so it works offline. `node scripts/build-web.mjs [--outdir DIR]`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds into `outdir` (default web/dist); answers the output directory. */
export async function buildWeb({ outdir = join(root, 'web/dist'), minify = true } = {}) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { app: join(root, 'web/src/main.ts'), style: join(root, 'web/src/styles.css') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  copyFileSync(join(root, 'web/index.html'), join(outdir, 'index.html'));
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const outdir = i > 0 ? resolve(process.argv[i + 1]) : undefined;
  const t0 = performance.now();
  const dir = await buildWeb(outdir ? { outdir } : {});
  console.log(`dashboard built in ${Math.round(performance.now() - t0)} ms: ${dir}`);
}
