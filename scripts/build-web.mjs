#!/usr/bin/env node
// Bundles the dashboard (web/src) into web/dist with esbuild: one script, one stylesheet and
// the page, uPlot included, so it works offline. Script and stylesheet names carry a content
// hash (the gateway caches those for a year); index.html names them and is revalidated.
// `node scripts/build-web.mjs [--outdir DIR]`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** What earlier builds left: hashed bundles and their maps. */
const BUILT = /^(app|style)(-[A-Z0-9]+)?\.(js|css)(\.map)?$|^index\.html$|\.LEGAL\.txt$/;

/** Builds into `outdir` (default web/dist); answers the output directory. */
export async function buildWeb({ outdir = join(root, 'web/dist'), minify = true } = {}) {
  mkdirSync(outdir, { recursive: true });
  for (const f of readdirSync(outdir)) if (BUILT.test(f)) rmSync(join(outdir, f));
  const result = await build({
    entryPoints: { app: join(root, 'web/src/main.ts'), style: join(root, 'web/src/styles.css') },
    outdir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
    metafile: true,
  });
  const names = {};
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const file = basename(out);
    if (file.endsWith('.js')) names['app.js'] = file;
    if (file.endsWith('.css')) names['style.css'] = file;
  }
  const html = readFileSync(join(root, 'web/index.html'), 'utf8')
    .replace('href="style.css"', `href="${names['style.css']}"`)
    .replace('src="app.js"', `src="${names['app.js']}"`);
  writeFileSync(join(outdir, 'index.html'), html);
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const outdir = i > 0 ? resolve(process.argv[i + 1]) : undefined;
  const t0 = performance.now();
  const dir = await buildWeb(outdir ? { outdir } : {});
  console.log(`dashboard built in ${Math.round(performance.now() - t0)} ms: ${dir}`);
}
