import { lineError } from './bad-input.js';
import { createLabelCollector } from './labels.js';
import { looksNonFinite, scanned, scanNumber } from './numbers.js';
import { createBlockSpill } from './spill.js';
import { spillLines, tabularResult } from './tabular-result.js';
import { createTabularRowWriter } from './tabular-spill.js';
import type { ParseContext, ParsedDataset } from './types.js';

/** Dense output needs a row of this many floats; larger indices are surely a mistake. */
export const MAX_FEATURES = 1 << 24;

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const COLON = 58;

/**
 * libsvm / SVM-light: `label [qid:n] idx:value ... [# comment]`, indices ascending.
 * The first pass stores sparse rows in the spill; the second densifies them at the final
 * width (the largest index, or `features`) and maps labels once all are known.
 */
export async function parseLibsvm(
  source: AsyncIterable<Buffer>,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const base = ctx.opts.indexBase ?? 'auto';
  const limit = ctx.opts.features;
  const spill = createBlockSpill({ dir: ctx.tmpDir, memoryLimitBytes: ctx.opts.memoryLimitBytes });
  const writer = createTabularRowWriter(spill);
  const labels = createLabelCollector({ kind: ctx.opts.labelKind });
  let idx = new Uint32Array(1024);
  let vals = new Float32Array(1024);
  let maxIndex = -1;
  let sawZero = false;
  let maxAt: [number, number] = [0, 0];

  const onLine = (buf: Buffer, start: number, end: number, line: number): void => {
    const col = (p: number): number => p - start + 1;
    let p = start;
    while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
    if (p === end || buf[p] === HASH) return;

    let q = scanNumber(buf, p, end);
    if (q < end && buf[q] === COLON) throw lineError(line, col(p), 'label missing');
    if (q === p || !endsToken(buf, q, end)) {
      const why = looksNonFinite(buf, p, end) ? 'NaN or Inf label' : 'expected a numeric label';
      throw lineError(line, col(p), why);
    }
    const label = scanned.value;
    if (!Number.isFinite(Math.fround(label))) throw lineError(line, col(p), 'label out of range');
    p = q;

    let nnz = 0;
    let last = -1;
    let lastCol = 0;
    for (;;) {
      while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
      if (p === end || buf[p] === HASH) break;
      const tokenStart = p;
      if (buf[p] === 113 && nnz === 0 && isQid(buf, p, end)) {
        p += 4;
        while (p < end && buf[p]! >= 48 && buf[p]! <= 57) p++;
        if (!endsToken(buf, p, end)) throw lineError(line, col(tokenStart), 'expected qid:n');
        continue;
      }
      let index = 0;
      while (p < end) {
        const d = buf[p]! - 48;
        if (d < 0 || d > 9) break;
        index = index * 10 + d;
        p++;
      }
      if (p === tokenStart || p === end || buf[p] !== COLON) {
        throw lineError(line, col(tokenStart), 'expected idx:value');
      }
      p++;
      q = scanNumber(buf, p, end);
      if (q === p || !endsToken(buf, q, end)) {
        const nonFinite = q === p && looksNonFinite(buf, p, end);
        throw lineError(line, col(p), nonFinite ? 'NaN or Inf value' : 'expected idx:value');
      }
      const v = Math.fround(scanned.value);
      if (!Number.isFinite(v)) throw lineError(line, col(p), 'value out of float32 range');
      if (index === 0) {
        if (base === 1) throw lineError(line, col(tokenStart), 'feature index 0 in a 1-based file');
        sawZero = true;
      }
      if (index === last) {
        throw lineError(line, col(tokenStart), `duplicate feature index ${index}`);
      }
      if (index < last) {
        throw lineError(
          line,
          col(tokenStart),
          `feature index ${index} after ${last}: not ascending`,
        );
      }
      // With base 'auto' the bound is checked loosely here and exactly once the base is known.
      const firstIndex = base === 'auto' ? 1 : base;
      if (index >= MAX_FEATURES || (limit !== undefined && index - firstIndex >= limit)) {
        const bound = limit ?? MAX_FEATURES;
        throw lineError(line, col(tokenStart), `feature index ${index} beyond ${bound} features`);
      }
      last = index;
      lastCol = col(tokenStart);
      if (nnz === idx.length) {
        idx = grow(idx, new Uint32Array(nnz * 2));
        vals = grow(vals, new Float32Array(nnz * 2));
      }
      idx[nnz] = index;
      vals[nnz] = v;
      nnz++;
      p = q;
    }
    if (last > maxIndex) {
      maxIndex = last;
      maxAt = [line, lastCol];
    }
    labels.add(null, label);
    writer.addSparse(label, 0, idx, vals, nnz);
  };

  try {
    await spillLines(source, onLine, spill);
    const indexBase: 0 | 1 = base === 'auto' ? (sawZero ? 0 : 1) : base;
    if (limit !== undefined && maxIndex - indexBase >= limit) {
      throw lineError(maxAt[0], maxAt[1], `feature index ${maxIndex} beyond ${limit} features`);
    }
    const dim = limit ?? Math.max(0, maxIndex + 1 - indexBase);
    return tabularResult({ ctx, format: 'libsvm', spill, writer, labels, dim, indexBase });
  } catch (err) {
    await spill.close();
    throw err;
  }
}

function endsToken(buf: Buffer, p: number, end: number): boolean {
  if (p === end) return true;
  const c = buf[p];
  return c === SPACE || c === TAB || c === HASH;
}

function isQid(buf: Buffer, p: number, end: number): boolean {
  return p + 4 < end && buf[p + 1] === 105 && buf[p + 2] === 100 && buf[p + 3] === COLON;
}

function grow<T extends Uint32Array | Float32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
