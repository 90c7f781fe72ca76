import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../shared/index.js';

test('docs/errors.md lists exactly the error codes the code emits, with their statuses', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = [...doc.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)].map(
    (m) => [m[1] ?? '', Number(m[2])] as const,
  );
  const documented = new Map(rows);
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    assert.equal(documented.get(code), status, `${code} documented with status ${status}`);
  }
  for (const code of documented.keys()) {
    assert.ok(code in ERROR_CODES, `docs/errors.md lists stale code ${code}`);
  }
});
