// A node:test reporter that adds up results per test file, so that run-tests.mjs can say which
// files failed or skipped and why, and fail a CI run on a skip. It writes one JSON document to
// its --test-reporter-destination when the run ends; the spec (or TAP) reporter still does the
// live output. summarise() and formatSummary() turn that document into the closing summary.
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NO_REASON = '(no reason given)';
export const NO_TESTS = 'no tests ran';

/**
 * Counts leaf tests: a describe or a test with subtests is only a container, and counting it as
 * well would count one skipped mosquitto test twice. A describe skipped as a whole runs no
 * children, so it is a leaf here and counts as 1 skipped.
 */
export default async function* fileResults(source) {
  const byFile = new Map();
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const file = repoRelative(data.file);
    let f = byFile.get(file);
    if (!f) {
      f = {
        file,
        passed: 0,
        failed: 0,
        skipped: 0,
        failures: [],
        skipReasons: [],
        processError: null,
        prevNesting: undefined,
        failedBelow: [],
      };
      byFile.set(file, f);
    }
    // The runner reports a file as a test of its own, named by its path, only when the file
    // produced no tests or its process failed in a way no test accounts for (exit code, crash
    // before the first test, timeout). It is not a test, but its failure is the file's failure.
    // Node 20 names it by the absolute path; compared repo-relative, a later node that keeps the
    // path as given still matches.
    if ((data.nesting ?? 0) === 0 && data.file && repoRelative(data.name) === file) {
      if (type === 'test:fail') f.processError = describeProcessError(data.details?.error);
      continue;
    }
    const n = data.nesting ?? 0;
    // pass/fail events come in post-order within a file (children before their parent), so an
    // event is a container exactly when the event before it in the same file was deeper.
    const leaf = f.prevNesting === undefined || f.prevNesting <= n;
    const childFailed = f.failedBelow.slice(n + 1).some(Boolean);
    f.failedBelow.length = n + 1;
    f.prevNesting = n;
    const failed = type === 'test:fail' && !data.todo;
    f.failedBelow[n] = Boolean(f.failedBelow[n] || failed || childFailed);
    if (failed) {
      // A container that failed while all its children passed (a throwing after hook) is a
      // failure nothing else counts; one whose children failed is already counted through them.
      if (leaf || !childFailed) {
        f.failed++;
        f.failures.push(data.name);
      }
    } else if (!leaf) {
      continue;
    } else if (data.skip !== undefined || data.todo !== undefined) {
      // A todo test's result is not held against the run, so, like a skip, it proves nothing.
      f.skipped++;
      const why = data.skip !== undefined ? reason(data.skip) : `todo: ${reason(data.todo)}`;
      if (!f.skipReasons.includes(why)) f.skipReasons.push(why);
    } else {
      f.passed++;
    }
  }
  const files = [...byFile.values()].map(({ prevNesting: _p, failedBelow: _f, ...rest }) => rest);
  yield `${JSON.stringify({ files })}\n`;
}

/** Events carry absolute paths; the command line and the allow-list use `test/…`. */
export function repoRelative(file, root = process.cwd()) {
  if (file === undefined || file === null || file === '') return '(no file)';
  let p = String(file);
  if (p.startsWith('file:')) p = fileURLToPath(p);
  if (isAbsolute(p)) p = relative(root, p);
  return p.split(sep).join('/');
}

function reason(value) {
  // A skip reason may be any string a test chose; the summary keeps each on one line.
  return typeof value === 'string' && value.trim() !== ''
    ? value.replace(/\s+/g, ' ').trim()
    : NO_REASON;
}

function describeProcessError(error) {
  if (!error) return 'the test file failed';
  if (typeof error.exitCode === 'number' || error.signal) {
    return error.signal
      ? `the test file's process was killed by ${error.signal}`
      : `the test file's process exited with code ${error.exitCode}`;
  }
  const cause = typeof error.cause === 'string' ? error.cause : error.message;
  return `the test file failed: ${reason(cause)}`;
}

/**
 * One status per file, in this order of precedence: failed, skipped (wholly: nothing ran),
 * partly (some tests skipped), passed. Files that were selected but have no result at all
 * count as failed, since the runner must have died before it reached them.
 */
export function summarise(results, selected) {
  const byFile = new Map(results.map((r) => [r.file, r]));
  for (const file of selected) {
    if (!byFile.has(file)) {
      byFile.set(file, {
        file,
        passed: 0,
        failed: 0,
        skipped: 0,
        failures: [],
        skipReasons: [],
        processError: 'no result from the test runner',
      });
    }
  }
  const files = [...byFile.values()]
    .sort((a, b) => a.file.localeCompare(b.file))
    .map((r) => {
      const status =
        r.failed > 0 || r.processError
          ? 'failed'
          : r.passed === 0
            ? 'skipped'
            : r.skipped > 0
              ? 'partly'
              : 'passed';
      // A file that declared no test at all skipped everything it had, and a file whose process
      // failed outside any test (an import error, an exit code) failed: each counts as 1 test, so
      // that the closing line never says 0 skipped or 0 failed while a file skipped or failed.
      const empty = status === 'skipped' && r.skipped === 0;
      return {
        ...r,
        status,
        failed: r.failed + (r.processError ? 1 : 0),
        skipped: empty ? 1 : r.skipped,
        skipReasons: empty ? [NO_TESTS] : r.skipReasons,
      };
    });
  const sum = (k) => files.reduce((n, f) => n + f[k], 0);
  return {
    files,
    tests: { passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped') },
  };
}

/** The lines printed after the live output; the caller prints its own lines before the last. */
export function formatSummary(summary, allowList = {}) {
  const { files, tests } = summary;
  const count = (s) => files.filter((f) => f.status === s).length;
  const failed = files.filter((f) => f.status === 'failed');
  const skipped = files.filter((f) => f.status === 'skipped' || f.status === 'partly');
  const lines = ['', '== test summary =='];
  if (failed.length > 0) {
    lines.push(`failed files (${failed.length}):`);
    for (const f of failed) {
      const parts = [];
      if (f.failures.length > 0) {
        parts.push(`${f.failures.length} failed: ${quoteNames(f.failures)}`);
      }
      if (f.processError) parts.push(f.processError);
      if (f.skipped > 0) parts.push(`also ${f.skipped} skipped: ${f.skipReasons.join('; ')}`);
      lines.push(`  FAIL ${f.file}: ${parts.join('; ')}`);
    }
  }
  if (skipped.length > 0) {
    lines.push(`skipped files (${skipped.length}):`);
    for (const f of skipped) {
      const how =
        f.status === 'skipped'
          ? 'whole file skipped'
          : `${f.skipped} of ${f.passed + f.skipped} tests skipped`;
      const allowed = allowList[f.file] ? ` [allow-listed: ${allowList[f.file]}]` : '';
      lines.push(`  SKIP ${f.file}: ${how}: ${f.skipReasons.join('; ')}${allowed}`);
    }
  }
  const partly = count('partly');
  lines.push(
    `files: ${files.length} ran, ${count('passed')} passed, ${count('failed')} failed, ` +
      `${count('skipped') + partly} skipped (${count('skipped')} wholly, ${partly} partly)`,
  );
  return {
    lines,
    last: `${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`,
  };
}

function quoteNames(names) {
  const shown = names.slice(0, 3).map((n) => JSON.stringify(n));
  if (names.length > 3) shown.push(`and ${names.length - 3} more`);
  return shown.join(', ');
}
