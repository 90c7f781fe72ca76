import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDataset, type ParsedDataset } from '../../../../services/data-intake/parse/index.js';
import { chunks, collect, rejectsWith, FIXTURES } from './helpers.js';

const libsvm = (text: string, opts = {}) =>
  parseDataset(chunks(text), { format: 'libsvm', ...opts });

describe('libsvm parsing', () => {
  test('real heart_scale: 270 rows, 13 features, ±1 as two classes, skipped indices are 0', async () => {
    const p = await parseDataset(createReadStream(join(FIXTURES, 'heart_scale.libsvm')));
    assert.equal(p.info.format, 'libsvm');
    assert.equal(p.info.count, 270);
    assert.equal(p.info.features, 13);
    assert.equal(p.info.indexBase, 1);
    assert.deepEqual(p.info.labelNames, ['-1', '1']);
    const got = await collect(p);
    assert.equal(got.rows, 270);
    // line 1: +1 1:0.708333 2:1 3:1 4:-0.320755 5:-0.105023 6:-1 7:1 8:-0.419847 9:-1 10:-0.225806 12:1 13:-1
    assert.equal(got.labels[0], 1);
    assert.equal(got.labels[1], 0);
    assert.ok(Math.abs(got.features[0]![0]! - 0.708333) < 1e-6);
    assert.equal(got.features[0]![10], 0);
    assert.equal(got.features[0]![12], -1);
  });

  test('densifies sparse rows at the final width, even when a late row has the largest index', async () => {
    const p = await libsvm('1 2:5\n0 1:1 # comment\n# whole-line comment\n\n1 qid:3 5:2.5e1\n');
    assert.equal(p.info.features, 5);
    const got = await collect(p);
    assert.deepEqual(got.features, [
      [0, 5, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [0, 0, 0, 0, 25],
    ]);
    assert.deepEqual(got.labels, [1, 0, 1]);
  });

  test('detects 0-based files and honours an explicit feature count', async () => {
    const auto = await libsvm('1 0:1 2:3\n2 1:4\n');
    assert.equal(auto.info.indexBase, 0);
    assert.deepEqual((await collect(auto)).features, [
      [1, 0, 3],
      [0, 4, 0],
    ]);
    const wide = await libsvm('1 1:1\n', { features: 4 });
    assert.deepEqual((await collect(wide)).features, [[1, 0, 0, 0]]);
  });

  test('non-integer labels become regression; many distinct integers too', async () => {
    const p = await libsvm('0.5 1:1\n-2.25 1:2\n');
    assert.equal(p.info.labelKind, 'regression');
    assert.deepEqual((await collect(p)).labels, [0.5, -2.25]);
    const many = Array.from({ length: 1001 }, (_, i) => `${i} 1:1`).join('\n');
    assert.equal((await libsvm(many)).info.labelKind, 'regression');
    const forced = await libsvm('3 1:1\n7 1:1\n', { labelKind: 'regression' });
    assert.deepEqual((await collect(forced)).labels, [3, 7]);
  });

  test('multi-class labels map to sorted ids', async () => {
    const p = await libsvm('10 1:1\n2 1:1\n-5 1:1\n2 1:1\n');
    assert.deepEqual(p.info.labelNames, ['-5', '2', '10']);
    assert.deepEqual((await collect(p)).labels, [2, 1, 0, 1]);
  });

  test('a malformed token reports line and column', async () => {
    const lines = Array.from({ length: 1831 }, () => '1 1:0.5 2:1');
    lines.push('1 1:0.5 2:1 3:x4 4:1');
    await rejectsWith(
      libsvm(lines.join('\n')),
      'BAD_INPUT',
      { line: 1832, col: 15, reason: "value 'x4' is not a number" },
      /^value 'x4' is not a number at line 1832, col 15$/,
    );
    await rejectsWith(libsvm('1 1:0.5 7\n'), 'BAD_INPUT', {
      line: 1,
      col: 9,
      reason: "expected idx:value, found '7'",
    });
    await rejectsWith(libsvm('1 1:0.5 2:3z\n'), 'BAD_INPUT', {
      line: 1,
      col: 11,
      reason: "value '3z' is not a number",
    });
    await rejectsWith(libsvm('1 1:0.5 a:3\n'), 'BAD_INPUT', {
      line: 1,
      col: 9,
      reason: "index 'a' is not a whole number",
    });
    await rejectsWith(libsvm('1 1:0.5 -2:3\n'), 'BAD_INPUT', {
      reason: "index '-2' is not a whole number",
    });
    await rejectsWith(libsvm('1 1:0.5 2: 3:1\n'), 'BAD_INPUT', {
      col: 11,
      reason: 'value missing after index 2',
    });
    await rejectsWith(libsvm('one 1:0.5\n'), 'BAD_INPUT', {
      col: 1,
      reason: "label 'one' is not a number",
    });
  });

  test('rejects index 0 in a 1-based file', async () => {
    await rejectsWith(libsvm('1 1:1\n1 0:1\n', { indexBase: 1 }), 'BAD_INPUT', {
      line: 2,
      col: 3,
      reason: 'feature index 0 in a 1-based file',
    });
  });

  test('rejects duplicate and unsorted indices', async () => {
    await rejectsWith(libsvm('1 1:1 3:1 3:2\n'), 'BAD_INPUT', {
      line: 1,
      col: 11,
      reason: 'duplicate feature index 3',
    });
    await rejectsWith(libsvm('1 1:1 3:1 2:2\n'), 'BAD_INPUT', {
      line: 1,
      col: 11,
      reason: 'feature index 2 after 3: not ascending',
    });
  });

  test('rejects NaN and Inf values and labels', async () => {
    await rejectsWith(libsvm('1 1:nan\n'), 'BAD_INPUT', {
      line: 1,
      col: 5,
      reason: 'NaN or Inf value',
    });
    await rejectsWith(libsvm('1 1:-Inf\n'), 'BAD_INPUT', { reason: 'NaN or Inf value' });
    await rejectsWith(libsvm('1 1:1e39\n'), 'BAD_INPUT', { reason: 'value out of float32 range' });
    await rejectsWith(libsvm('nan 1:1\n'), 'BAD_INPUT', {
      line: 1,
      col: 1,
      reason: 'NaN or Inf label',
    });
  });

  test('rejects a missing label', async () => {
    await rejectsWith(libsvm('1 1:1\n  2:1 3:1\n'), 'BAD_INPUT', {
      line: 2,
      col: 3,
      reason: 'label missing',
    });
  });

  test('rejects indices beyond an explicit feature count, once the base is known', async () => {
    await rejectsWith(libsvm('1 1:1 5:1\n', { features: 4 }), 'BAD_INPUT', { line: 1, col: 7 });
    await rejectsWith(libsvm('1 0:1\n1 4:1\n', { features: 4 }), 'BAD_INPUT', { line: 2, col: 3 });
  });

  test('rejects an empty file and a file of comments', async () => {
    await rejectsWith(libsvm(''), 'BAD_INPUT', { reason: 'empty' });
    await rejectsWith(libsvm('# nothing\n\n'), 'BAD_INPUT', { reason: 'empty' });
  });

  test('batches respect batchRows and batchBytes', async () => {
    const text = Array.from({ length: 10 }, (_, i) => `${i % 2} 1:${i} 100:1`).join('\n');
    const byRows = await collect(await libsvm(text, { batchRows: 4 }));
    assert.deepEqual(
      byRows.batches.map((b) => b.rows),
      [4, 4, 2],
    );
    const byBytes = await collect(await libsvm(text, { batchBytes: 3 * 100 * 4 }));
    assert.deepEqual(
      byBytes.batches.map((b) => b.rows),
      [3, 3, 3, 1],
    );
  });

  const spillDir = mkdtempSync(join(tmpdir(), 'intake-spill-'));
  after(() => rmSync(spillDir, { recursive: true, force: true }));

  test('spilling to disk gives the same rows and removes its temp file', async () => {
    // ~170 bytes per stored row: 15,000 rows fill a few 1 MiB spill blocks.
    const row = (i: number) =>
      `${i % 3} ` + Array.from({ length: 20 }, (_, k) => `${k + 1}:${(i + k) % 7}`).join(' ');
    const text = Array.from({ length: 15_000 }, (_, i) => row(i)).join('\n');
    const parse = (opts: object) =>
      parseDataset(chunks(text, 65_536), { format: 'libsvm', ...opts });
    const bytes = async (p: ParsedDataset) => {
      const parts: Buffer[] = [];
      for await (const b of p.batches()) {
        assert.ok(b.kind === 'tabular');
        parts.push(Buffer.from(b.features.buffer, b.features.byteOffset, b.features.byteLength));
        parts.push(Buffer.from(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
      }
      return Buffer.concat(parts);
    };
    const inMemory = await bytes(await parse({}));
    const p = await parse({ memoryLimitBytes: 4096, tmpDir: spillDir });
    assert.equal(p.info.count, 15_000);
    assert.equal(readdirSync(spillDir).length, 1, 'the first pass wrote a spill file');
    assert.ok(inMemory.equals(await bytes(p)));
    assert.deepEqual(readdirSync(spillDir), []);
    await p.close();
  });
});
