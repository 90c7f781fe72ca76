import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('docs/config.md is generated from the current config schemas', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-config-docs.mjs', '--check'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});
