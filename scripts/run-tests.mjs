#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here. Extra args filter by path.
// A second reporter adds up the results per file; the summary after the live output names every
// file that failed or skipped, and why, and ends with `N passed, N failed, N skipped`.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { formatSummary, summarise } from './test-reporter.mjs';

// Skips in CI fail the run unless the file is named here, with the reason it may skip there.
const ALLOW_LIST = 'test/skip-allowlist.json';
const CI = /^(true|1)$/i.test(process.env.CI ?? '');

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
// Read before the minutes of testing, so that a broken allow-list is found at once.
const allowList = readAllowList(ALLOW_LIST);
prepareSwarm(files);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const resultsDir = mkdtempSync(join(tmpdir(), 'swarmml-tests-'));
const resultsFile = join(resultsDir, 'results.json');
// node import()s a reporter; a file URL names this one whatever the cwd or the platform.
const reporter = new URL('./test-reporter.mjs', import.meta.url).href;
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    // Per file, not per test: the three-node file (placement, drain, move, node kill) is the
    // longest, 130-160 s here and two to three times that under CI's load.
    '--test-timeout=480000',
    // Naming a reporter replaces node's default one, which is spec on a terminal and TAP
    // elsewhere; the same choice is made here so that the live output stays as it was.
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${resultsFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(report(r, files.map(toPosix)));

function report(run, selected) {
  const exited = run.status ?? 1;
  let results;
  try {
    results = JSON.parse(readFileSync(resultsFile, 'utf8')).files;
  } catch (err) {
    console.log(
      `\nno test summary: the test runner exited with ${describeExit(run)} before its ` +
        `results were written (${err.message})`,
    );
    return exited || 1;
  } finally {
    rmSync(resultsDir, { recursive: true, force: true });
  }
  const summary = summarise(results, selected);
  const { lines, last } = formatSummary(summary, allowList);
  const failedFiles = summary.files.some((f) => f.status === 'failed');
  if (exited !== 0 && !failedFiles) {
    lines.push(`the test runner exited with ${describeExit(run)} though no test file failed`);
  }
  const unexplained = summary.files.filter((f) => f.skipped > 0 && !allowList[f.file]);
  if (CI) {
    for (const f of unexplained) {
      lines.push(`skipped in CI: ${f.file}: ${f.skipReasons.join('; ')} (not in ${ALLOW_LIST})`);
    }
  } else if (summary.tests.skipped > 0) {
    lines.push(`with CI=true, skipped files not in ${ALLOW_LIST} fail the run`);
  }
  for (const file of Object.keys(allowList)) {
    if (!existsSync(file)) lines.push(`note: ${ALLOW_LIST} names ${file}, which does not exist`);
  }
  // Everything goes to stdout, after the live output, so that the closing line stays last.
  console.log([...lines, last].join('\n'));
  if (exited !== 0 || failedFiles) return exited || 1;
  return CI && unexplained.length > 0 ? 1 : 0;
}

function describeExit(run) {
  return run.signal ? `signal ${run.signal}` : `code ${run.status}`;
}

function toPosix(p) {
  return p.split(sep).join('/');
}

/** `{ "files": { "test/x.test.ts": "why it may skip in CI" } }`; a missing file is empty. */
function readAllowList(path) {
  if (!existsSync(path)) return {};
  const fail = (why) => {
    console.error(`${path}: ${why}`);
    console.error(`expected { "files": { "test/<name>.test.ts": "why it may skip in CI" } }`);
    process.exit(1);
  };
  let doc;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return fail(`not valid JSON: ${err.message}`);
  }
  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc)) return fail('the top level must be an object');
  const extra = Object.keys(doc).filter((k) => k !== 'files');
  if (extra.length > 0) return fail(`unknown key(s) ${extra.join(', ')}; only "files" is read`);
  if (!isObject(doc.files)) return fail('"files" must be an object of path -> reason');
  for (const [file, why] of Object.entries(doc.files)) {
    // Paths as the summary prints them; anything else could never match and would allow nothing.
    if (!/^test\/.+\.test\.ts$/.test(file) || file.includes('\\') || file.includes('/../')) {
      return fail(`"${file}" is not a repo-relative path like test/<dir>/<name>.test.ts`);
    }
    if (typeof why !== 'string' || why.trim() === '') {
      return fail(`"${file}" needs a reason: a non-empty string saying why it may skip in CI`);
    }
  }
  return doc.files;
}

// Docker, the seeded base images and the app image are made here, before the runner starts,
// so that a first run on a fresh machine spends its minutes outside every test file's timeout.
// Each step is idempotent and takes well under a second when already done.
function prepareSwarm(selected) {
  if (process.env.SWARMML_SKIP_SWARM === '1') return;
  if (!selected.some((f) => f.split(sep).includes('swarm'))) return;
  const step = (what, script, args = [], env = process.env) => {
    const t0 = Date.now();
    const r = spawnSync(script, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    console.log(
      `# prepare: ${what}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return r.status;
  };
  const docker = step('docker and a swarm', 'scripts/ensure-docker.sh', [], {
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
  // Three simulated nodes with the stack deployed on them (every node pulls its images): minutes
  // that would not fit in the file's timeout. The file uses them and removes them; so does exit.
  const multiNode = selected.some((f) => f.endsWith('multi-node-stack.test.ts'));
  if (multiNode && !process.env.SWARMML_SKIP_STACK && process.getuid?.() === 0) {
    const home = mkdtempSync(join(tmpdir(), 'swarmml-nodes-'));
    const nodes = (...args) => ['scripts/swarm-nodes.sh', args];
    process.on('exit', () => {
      spawnSync(...nodes('down'), { stdio: ['ignore', 'ignore', 'inherit'] });
      rmSync(home, { recursive: true, force: true });
    });
    if (
      step('three simulated swarm nodes', ...nodes('up', '3')) === 0 &&
      // Three engines pulling the image at once: slower than one node on a busy machine.
      step('the stack on them', ...nodes('deploy', 'mn', home, '--no-build'), {
        ...process.env,
        SWARMML_UP_TIMEOUT: process.env.SWARMML_UP_TIMEOUT ?? '420',
      }) === 0
    ) {
      process.env.SWARMML_NODES_STACK = 'mn';
      process.env.SWARMML_NODES_HOME = home;
    } else {
      process.env.SWARMML_NODES_ERROR = 'the simulated nodes or their stack failed (see # prepare)';
    }
  }
}
