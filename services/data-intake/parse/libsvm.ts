import { lineError } from './bad-input.js';
import { createLabelCollector } from './labels.js';
import { looksNonFinite, POW10, scanned, scanNumber } from './numbers.js';
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
const DOT = 46;
const MINUS = 45;
const PLUS = 43;

/**
 * Digits a value may have for the inline fast path: up to this many, `scanNumber` never caps
 * the mantissa, so both compute the very same double.
 */
const FAST_DIGITS = 15;

/**
 * libsvm / SVM-light: `label [qid:n] idx:value ... [# comment]`, indices ascending.
 * The first pass stores rows in the spill (dense when that is no larger than sparse, indexed
 * by the raw index); the second emits them at the final width (the largest index, or
 * `features`) and maps labels once all are known.
 */
export async function parseLibsvm(
  source: AsyncIterable<Buffer>,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const base = ctx.opts.indexBase ?? 'auto';
  const limit = ctx.opts.features;
  // With base 'auto' the bound is checked loosely per row and exactly once the base is known.
  const firstIndex = base === 'auto' ? 1 : base;
  const bound = limit === undefined ? MAX_FEATURES : Math.min(MAX_FEATURES, limit + firstIndex);
  const spill = createBlockSpill({ dir: ctx.tmpDir, memoryLimitBytes: ctx.opts.memoryLimitBytes });
  const writer = createTabularRowWriter(spill);
  const labels = createLabelCollector({ kind: ctx.opts.labelKind });
  let idx = new Uint32Array(1024);
  let vals = new Float32Array(1024);
  let maxIndex = -1;
  let sawZero = false;
  let maxLine = 0;
  let maxCol = 0;

  // One call per line: no closure or object is created here, the hot loop reads bytes only.
  const onLine = (buf: Buffer, start: number, end: number, line: number): void => {
    let p = start;
    while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
    if (p === end || buf[p] === HASH) return;

    let q = scanNumber(buf, p, end);
    if (q < end && buf[q] === COLON) throw lineError(line, p - start + 1, 'label missing');
    if (q === p || !endsToken(buf, q, end)) {
      const why = looksNonFinite(buf, p, end)
        ? 'NaN or Inf label'
        : `label ${tokenText(buf, p, end)} is not a number`;
      throw lineError(line, p - start + 1, why);
    }
    const label = scanned.value;
    if (!Number.isFinite(Math.fround(label))) {
      throw lineError(line, p - start + 1, 'label out of range');
    }
    p = q;

    let nnz = 0;
    let last = -1;
    let lastStart = 0;
    for (;;) {
      while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
      if (p === end || buf[p] === HASH) break;
      const tokenStart = p;
      if (buf[p] === 113 && nnz === 0 && isQid(buf, p, end)) {
        p += 4;
        while (p < end && buf[p]! >= 48 && buf[p]! <= 57) p++;
        if (!endsToken(buf, p, end)) {
          throw lineError(line, tokenStart - start + 1, 'expected qid:n');
        }
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
        throw lineError(line, tokenStart - start + 1, badPair(buf, tokenStart, end));
      }
      p++;

      // Fast path for plain decimals (`-0.25`, `3`): the same arithmetic as scanNumber,
      // without its exponent and long-mantissa cases, which fall through to it.
      let v: number;
      q = p;
      let c = q < end ? buf[q]! : 0;
      const neg = c === MINUS;
      if (neg || c === PLUS) q++;
      let mant = 0;
      const intStart = q;
      while (q < end) {
        const d = buf[q]! - 48;
        if (d < 0 || d > 9) break;
        mant = mant * 10 + d;
        q++;
      }
      let digits = q - intStart;
      let frac = 0;
      if (q < end && buf[q] === DOT) {
        const fracStart = ++q;
        while (q < end) {
          const d = buf[q]! - 48;
          if (d < 0 || d > 9) break;
          mant = mant * 10 + d;
          q++;
        }
        frac = q - fracStart;
        digits += frac;
      }
      c = q < end ? buf[q]! : SPACE;
      if (digits > 0 && digits <= FAST_DIGITS && (c === SPACE || c === TAB || c === HASH)) {
        const abs = frac === 0 || mant === 0 ? mant : mant / POW10[frac]!;
        v = Math.fround(neg ? -abs : abs);
      } else {
        q = scanNumber(buf, p, end);
        if (q === p || !endsToken(buf, q, end)) {
          const nonFinite = q === p && looksNonFinite(buf, p, end);
          let why = `value ${tokenText(buf, p, end)} is not a number`;
          if (nonFinite) why = 'NaN or Inf value';
          else if (endsToken(buf, p, end)) why = `value missing after index ${index}`;
          throw lineError(line, p - start + 1, why);
        }
        v = Math.fround(scanned.value);
        if (!Number.isFinite(v)) {
          throw lineError(line, p - start + 1, 'value out of float32 range');
        }
      }

      if (index <= last || index === 0 || index >= bound) {
        checkIndex(index, last, line, tokenStart - start + 1);
        sawZero = true; // checkIndex only returns for an allowed index 0
      }
      last = index;
      lastStart = tokenStart;
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
      maxLine = line;
      maxCol = lastStart - start + 1;
    }
    labels.add(null, label);
    // Raw indices as positions: the index base is only known once every row is read.
    if (last + 1 <= 2 * nnz) writer.addScattered(label, idx, vals, nnz, last + 1);
    else writer.addSparse(label, 0, idx, vals, nnz);
  };

  /** Throws for a zero, repeated, descending or too large index; returns for an allowed 0. */
  const checkIndex = (index: number, last: number, line: number, col: number): void => {
    if (index === 0 && base === 1) throw lineError(line, col, 'feature index 0 in a 1-based file');
    if (index === last) throw lineError(line, col, `duplicate feature index ${index}`);
    if (index < last) {
      throw lineError(line, col, `feature index ${index} after ${last}: not ascending`);
    }
    if (index >= bound) {
      throw lineError(line, col, `feature index ${index} beyond ${limit ?? MAX_FEATURES} features`);
    }
  };

  try {
    await spillLines(source, onLine, spill);
    const indexBase: 0 | 1 = base === 'auto' ? (sawZero ? 0 : 1) : base;
    if (limit !== undefined && maxIndex - indexBase >= limit) {
      throw lineError(maxLine, maxCol, `feature index ${maxIndex} beyond ${limit} features`);
    }
    const dim = limit ?? Math.max(0, maxIndex + 1 - indexBase);
    return tabularResult({ ctx, format: 'libsvm', spill, writer, labels, dim, indexBase });
  } catch (err) {
    await spill.close();
    throw err;
  }
}

/** The token at `p` (up to a blank or `#`), quoted and cut to 40 bytes for a message. */
function tokenText(buf: Buffer, p: number, end: number): string {
  let q = p;
  while (q < end && !endsToken(buf, q, end)) q++;
  const cut = q - p > 40;
  return `'${buf.toString('utf8', p, cut ? p + 40 : q)}${cut ? '...' : ''}'`;
}

/** Why a token is not `idx:value`: no colon at all, or an index that is not a whole number. */
function badPair(buf: Buffer, p: number, end: number): string {
  let q = p;
  while (q < end && buf[q] !== COLON && !endsToken(buf, q, end)) q++;
  if (q === end || buf[q] !== COLON) return `expected idx:value, found ${tokenText(buf, p, end)}`;
  const index = buf.toString('utf8', p, Math.min(q, p + 40));
  return `index '${index}' is not a whole number`;
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
