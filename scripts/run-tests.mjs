#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here. Extra args filter by path.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
prepareSwarm(files);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);

// Docker, the seeded base images and the app image are made here, before the runner starts,
// so that a first run on a fresh machine spends its minutes outside every test file's timeout.
// Each step is idempotent and takes well under a second when already done.
function prepareSwarm(selected) {
  if (process.env.SWARMML_SKIP_SWARM === '1') return;
  if (!selected.some((f) => f.includes(join('test', 'swarm')))) return;
  const step = (what, script, env = process.env) => {
    const t0 = Date.now();
    const r = spawnSync(script, { stdio: ['ignore', 'ignore', 'inherit'], env });
    console.log(
      `# prepare: ${what}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return r.status;
  };
  const docker = step('docker and a swarm', 'scripts/ensure-docker.sh', {
    ...process.env,
    SWARMML_FAKE_GPUS: process.env.SWARMML_FAKE_GPUS ?? 'GPU-fake-0',
  });
  // 2 = no Docker on this machine: the swarm tests skip and say why.
  if (docker === 2) return;
  if (docker !== 0) process.exit(1);
  // A machine that reaches neither a registry nor a Debian mirror cannot make images: like a
  // machine without Docker, the tests that need them skip, saying why (stderr has the detail).
  if (step('base images', 'scripts/seed-images.sh') !== 0) {
    process.env.SWARMML_SKIP_SWARM = '1';
    process.env.SWARMML_SKIP_REASON = 'the base images could not be seeded (see # prepare)';
    return;
  }
  if (selected.some((f) => f.endsWith('stack.test.ts'))) {
    if (step('the swarmml/app image', 'scripts/build-image.sh') !== 0) {
      process.env.SWARMML_SKIP_STACK = 'the swarmml/app image could not be built (see # prepare)';
    }
  }
}
