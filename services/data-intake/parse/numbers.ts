// Exact powers of ten as doubles; beyond 1e22 they are rounded, which costs at most an ulp
// of a double, far below the float32 precision every value ends up in.
export const POW10 = Float64Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));

/** Keeps the mantissa below 2^53 so that mantissa * 10^k stays exact for |k| <= 22. */
const MANTISSA_CAP = 9e14;

/** The value of the last successful `scanNumber`; a shared slot avoids an object per number. */
export const scanned = { value: 0 };

/**
 * Reads a decimal number (`-1`, `+.5`, `3.25e-4`) from `buf[pos..limit)` without decoding a string.
 * Returns the position after it, or `pos` when no number starts there; the value is left in
 * `scanned.value`. It does not check what follows: the caller decides which separators are valid.
 */
export function scanNumber(buf: Uint8Array, pos: number, limit: number): number {
  let i = pos;
  let neg = false;
  let c = i < limit ? buf[i]! : 0;
  if (c === 45 || c === 43) {
    neg = c === 45;
    i++;
  }
  let mant = 0;
  let exp10 = 0;
  let digits = false;
  while (i < limit) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    if (mant < MANTISSA_CAP) mant = mant * 10 + d;
    else exp10++;
    digits = true;
    i++;
  }
  if (i < limit && buf[i] === 46) {
    i++;
    while (i < limit) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      if (mant < MANTISSA_CAP) {
        mant = mant * 10 + d;
        exp10--;
      }
      digits = true;
      i++;
    }
  }
  if (!digits) return pos;
  c = i < limit ? buf[i]! : 0;
  if (c === 101 || c === 69) {
    let j = i + 1;
    let eneg = false;
    c = j < limit ? buf[j]! : 0;
    if (c === 45 || c === 43) {
      eneg = c === 45;
      j++;
    }
    let e = 0;
    const estart = j;
    while (j < limit) {
      const d = buf[j]! - 48;
      if (d < 0 || d > 9) break;
      if (e < 100_000) e = e * 10 + d;
      j++;
    }
    // `1e` without digits is not a number here; the caller reports the stray byte.
    if (j > estart) {
      exp10 += eneg ? -e : e;
      i = j;
    }
  }
  let v: number;
  if (mant === 0 || exp10 === 0) v = mant;
  else if (exp10 > 0) v = exp10 > 308 ? Infinity : mant * POW10[exp10]!;
  else if (exp10 >= -308) v = mant / POW10[-exp10]!;
  else v = -exp10 > 308 + 16 ? 0 : mant / POW10[16]! / POW10[-exp10 - 16]!;
  scanned.value = neg ? -v : v;
  return i;
}

/** True when the token at `pos` spells NaN or Inf(inity), which datasets must not contain. */
export function looksNonFinite(buf: Uint8Array, pos: number, limit: number): boolean {
  let c = pos < limit ? buf[pos]! : 0;
  if ((c === 45 || c === 43) && pos + 1 < limit) c = buf[pos + 1]!;
  c |= 0x20;
  return c === 110 || c === 105;
}

/** Parses a whole string as a number with the same rules; `NaN` when it is not one. */
export function parseNumberText(s: string): number {
  const t = s.trim();
  if (t === '') return NaN;
  const bytes = Buffer.from(t, 'latin1');
  const end = scanNumber(bytes, 0, bytes.length);
  return end === bytes.length ? scanned.value : NaN;
}
