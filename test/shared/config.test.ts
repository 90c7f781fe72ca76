import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readInternalToken } from '../../shared/index.js';
import { loadConfig as handlerConfig } from '../../services/event-handler/config.js';
import { loadConfig as intakeConfig } from '../../services/data-intake/config.js';

test('the internal token comes from the variable, else its file, else the admin token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-config-'));
  try {
    const internal = join(dir, 'internal');
    const admin = join(dir, 'admin');
    writeFileSync(internal, 'internal-secret-0123456789\n');
    writeFileSync(admin, 'admin-secret-0123456789\n');
    assert.equal(
      readInternalToken({ INTERNAL_TOKEN: 'x'.repeat(16), INTERNAL_TOKEN_FILE: internal }),
      'x'.repeat(16),
    );
    assert.equal(
      readInternalToken({ INTERNAL_TOKEN_FILE: internal, ADMIN_TOKEN_FILE: admin }),
      'internal-secret-0123456789',
    );
    assert.equal(readInternalToken({ ADMIN_TOKEN_FILE: admin }), 'admin-secret-0123456789');
    // Both services that need it read it the same way.
    assert.equal(
      handlerConfig({ ADMIN_TOKEN_FILE: admin }).internalToken,
      'admin-secret-0123456789',
    );
    assert.equal(
      intakeConfig({ INTERNAL_TOKEN_FILE: internal }).internalToken,
      'internal-secret-0123456789',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing, unreadable or empty token is a configuration error naming the variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-config-'));
  try {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    assert.throws(
      () => readInternalToken({}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(
          e.message,
          /INTERNAL_TOKEN \(or INTERNAL_TOKEN_FILE \/ ADMIN_TOKEN_FILE\) is required/,
        );
        return true;
      },
    );
    assert.throws(
      () => readInternalToken({ INTERNAL_TOKEN_FILE: join(dir, 'nope') }),
      /INTERNAL_TOKEN_FILE: cannot read .*nope/,
    );
    assert.throws(
      () => readInternalToken({ ADMIN_TOKEN_FILE: empty }),
      /ADMIN_TOKEN_FILE: .* is empty/,
    );
    assert.throws(() => handlerConfig({}), ConfigError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
