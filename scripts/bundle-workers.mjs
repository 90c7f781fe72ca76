#!/usr/bin/env node
// Bundles the session workers (trainer, batch-infer) from dist/ into one file each under
// dist/bundles/, for the image's entrypoint. A worker starts on the clock of its session: from
// its compiled modules Node reads about 380 files (283 of them packages), and in a container,
// through the overlay filesystem, that took 0.9-2.6 s. One file is read in one go.
// Native addons stay outside (they are loaded from node_modules as before).
// `node scripts/bundle-workers.mjs` after tsc (npm run build runs it).
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKERS = ['trainer', 'batch-infer'];

const result = await build({
  entryPoints: Object.fromEntries(
    WORKERS.map((w) => [w, join(root, 'dist/services', w, 'main.js')]),
  ),
  outdir: join(root, 'dist/bundles'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Packages with native parts, or optional ones that are absent from the image.
  external: ['onnxruntime-node', 'msgpackr-extract', 'cpu-features', 'ssh2', 'sharp'],
  // Some bundled CommonJS packages call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __swarmmlRequire } from 'node:module'; const require = __swarmmlRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
for (const [file, out] of Object.entries(result.metafile.outputs)) {
  const inputs = Object.keys(out.inputs).length;
  console.log(`bundle-workers: ${file} (${(out.bytes / 1e6).toFixed(1)} MB, ${inputs} modules)`);
}
