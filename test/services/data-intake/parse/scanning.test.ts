import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createLineSplitter } from '../../../../services/data-intake/parse/lines.js';
import { scanned, scanNumber } from '../../../../services/data-intake/parse/numbers.js';

describe('byte-level scanning', () => {
  test('scanNumber agrees with Number() to float32 precision', () => {
    const numeric = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -3e38, max: 3e38 }).map(String),
      fc
        .tuple(fc.constantFrom('', '-', '+'), fc.nat(), fc.nat(), fc.integer({ min: -40, max: 38 }))
        .map(([s, i, f, e]) => `${s}${i}.${f}e${e}`),
      fc.tuple(fc.constantFrom('', '-'), fc.nat()).map(([s, f]) => `${s}.${f}`),
    );
    fc.assert(
      fc.property(numeric, (text) => {
        const buf = Buffer.from(`${text} `);
        const end = scanNumber(buf, 0, buf.length);
        assert.equal(end, text.length, text);
        assert.equal(Math.fround(scanned.value), Math.fround(Number(text)), text);
      }),
      { numRuns: 2000 },
    );
  });

  test('scanNumber stops at the first byte that is not part of a number', () => {
    for (const [text, end] of [
      ['12:3', 2],
      ['1e', 1],
      ['1e+', 1],
      ['-', 0],
      ['.', 0],
      ['x1', 0],
      ['3.5.2', 3],
      ['7e2x', 3],
    ] as const) {
      assert.equal(scanNumber(Buffer.from(text), 0, text.length), end, text);
    }
  });

  test('the line splitter gives the same lines and numbers however the input is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é') }), { maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 10 }),
        (lines, crlf, cuts) => {
          const text = lines.join(crlf ? '\r\n' : '\n');
          const bytes = Buffer.from(text);
          const seen: [string, number][] = [];
          const s = createLineSplitter((buf, start, end, n) =>
            seen.push([buf.toString('utf8', start, end), n]),
          );
          for (let i = 0, k = 0; i < bytes.length; k++) {
            const size = cuts[k % cuts.length]!;
            s.push(bytes.subarray(i, i + size));
            i += size;
          }
          s.end();
          const expected = text === '' ? [] : text.split(crlf ? '\r\n' : '\n');
          if (expected.at(-1) === '') expected.pop();
          assert.deepEqual(
            seen,
            expected.map((l, i) => [l, i + 1]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
