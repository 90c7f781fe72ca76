import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseDataset } from '../../../../services/data-intake/parse/index.js';
import { parseNumberText } from '../../../../services/data-intake/parse/numbers.js';
import { chunks, collect } from './helpers.js';

/** A seeded generator, so that a failure names rows that can be made again. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x1_0000_0000;
  };
}

describe('libsvm rows', () => {
  test('values read by the inline fast path equal those of scanNumber, bit for bit', async () => {
    const decimal = fc.oneof(
      fc
        .tuple(
          fc.constantFrom('', '-', '+'),
          fc.stringMatching(/^\d{0,9}$/),
          fc.stringMatching(/^\d{0,9}$/),
        )
        .filter(([, i, f]) => i.length + f.length > 0)
        .map(([s, i, f]) => (f === '' ? `${s}${i}` : `${s}${i}.${f}`)),
      // long mantissas and exponents take scanNumber's own path
      fc.stringMatching(/^-?\d{14,20}\.\d{0,6}$/),
      fc
        .tuple(fc.integer({ min: -99, max: 99 }), fc.integer({ min: -30, max: 30 }))
        .map(([m, e]) => `${m}e${e}`),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }).map(String),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(decimal, { minLength: 1, maxLength: 8 }), async (values) => {
        const line = `1 ${values.map((v, i) => `${i + 1}:${v}`).join(' ')}`;
        const got = await collect(await parseDataset(chunks(line, 5), { format: 'libsvm' }));
        values.forEach((v, i) => {
          assert.ok(Object.is(got.features[0]![i], Math.fround(parseNumberText(v))), v);
        });
      }),
      { numRuns: 300 },
    );
  });

  const spillDir = mkdtempSync(join(tmpdir(), 'intake-rows-'));
  after(() => rmSync(spillDir, { recursive: true, force: true }));

  test('dense and sparse rows come back exactly, also through reused spill blocks', async () => {
    // Rows of varying width and density over many 1 MiB spill blocks: a reused block
    // still holds the previous rows' values, so any gap not cleared would show.
    const rand = lcg(7);
    const expected: number[][] = [];
    const lines: string[] = [];
    const dim = 60;
    for (let r = 0; r < 40_000; r++) {
      const row = new Array<number>(dim).fill(0);
      const parts = [String(r % 3)];
      const density = r % 10 === 0 ? 0.05 : 0.3 + 0.7 * rand();
      const width = 1 + Math.floor(rand() * dim);
      for (let k = 1; k <= width; k++) {
        if (rand() >= density && k !== width) continue;
        const v = String(Math.round((rand() * 2 - 1) * 1e4) / 1e3);
        row[k - 1] = Math.fround(Number(v));
        parts.push(`${k}:${v}`);
      }
      expected.push(row);
      lines.push(parts.join(' '));
    }
    lines.push(`0 ${dim}:1`); // the last row sets the width
    expected.push([...new Array<number>(dim - 1).fill(0), 1]);
    const text = lines.join('\n');

    for (const memoryLimitBytes of [0, 1 << 30]) {
      const p = await parseDataset(chunks(text, 65_521), {
        format: 'libsvm',
        tmpDir: spillDir,
        memoryLimitBytes,
      });
      assert.equal(p.info.features, dim);
      assert.equal(readdirSync(spillDir).length, memoryLimitBytes === 0 ? 1 : 0);
      const got = await collect(p);
      assert.equal(got.rows, expected.length);
      for (let r = 0; r < expected.length; r++) {
        assert.deepEqual(got.features[r], expected[r], `row ${r + 1}`);
      }
      assert.deepEqual(readdirSync(spillDir), []);
    }
  });

  test('a 0-based file keeps index 0 in dense and sparse rows', async () => {
    const p = await parseDataset(chunks('1 0:1 1:2 2:3\n0 0:4 9:5\n', 3), { format: 'libsvm' });
    assert.equal(p.info.indexBase, 0);
    assert.deepEqual((await collect(p)).features, [
      [1, 2, 3, 0, 0, 0, 0, 0, 0, 0],
      [4, 0, 0, 0, 0, 0, 0, 0, 0, 5],
    ]);
  });
});
