/**
 * The nesting limit of JSON bodies. Code that walks a parsed body recursively (flattening a
 * tensor, zod, JSON.stringify, structured clone) overflows the stack on a body nested some
 * thousands deep, a 500 at best; JSON.parse itself copes. So the depth is checked on the
 * text, in one pass before parsing, wherever a request's JSON is parsed.
 */
import { BadInput } from '../errors.js';

/**
 * How deep arrays and objects may nest in a request body. Tensors are nested at most one
 * level per dimension (ONNX allows far fewer than this) and documents a handful.
 * @defaultValue 64
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * The position of the first bracket that opens one level too many, or -1. Brackets inside
 * strings do not count; the text need not be valid JSON (the parser says what else is
 * wrong). Bytes work as well as text: no UTF-8 sequence holds an ASCII byte.
 */
export function jsonTooDeepAt(src: string | Uint8Array, maxDepth = MAX_JSON_DEPTH): number {
  if (fewOpenings(src, maxDepth)) return -1;
  return typeof src === 'string' ? scanText(src, maxDepth) : scanBytes(src, maxDepth);
}

/**
 * Whether `src` opens at most `maxDepth` brackets in all, so that it cannot nest deeper:
 * the common case (a tensor body opens a handful), found by the native indexOf instead of
 * a scan of every byte, which cost a third of JSON.parse's time on a 784-float body.
 */
function fewOpenings(src: string | Uint8Array, maxDepth: number): boolean {
  const b =
    typeof src === 'string' ? undefined : Buffer.from(src.buffer, src.byteOffset, src.length);
  let n = 0;
  for (const open of ['[', '{']) {
    for (let i = (b ?? (src as string)).indexOf(open); i >= 0;) {
      if (++n > maxDepth) return false;
      i = (b ?? (src as string)).indexOf(open, i + 1);
    }
  }
  return true;
}

/** What matters to the depth: brackets, and quotes (brackets inside strings do not count). */
const SIGNIFICANT = /[[\]{}"]/g;

// A regex finds the few significant characters natively, several times faster than a loop
// over every digit of a large tensor (a tenth of JSON.parse's time, where a loop is a third).
function scanText(s: string, maxDepth: number): number {
  const re = new RegExp(SIGNIFICANT);
  let depth = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const i = m.index;
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(s, i);
      if (end < 0) return -1;
      re.lastIndex = end + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return i;
    } else depth--;
  }
  return -1;
}

/** The quote that closes the string opened at `open`, or -1: one preceded by an even run of backslashes. */
function closingQuote(s: string, open: number): number {
  let j = open;
  for (;;) {
    j = s.indexOf('"', j + 1);
    if (j < 0) return -1;
    let k = j - 1;
    while (s.charCodeAt(k) === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

function scanBytes(b: Uint8Array, maxDepth: number): number {
  let depth = 0;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = b[i];
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return i;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return -1;
}

/** Throws a 400 naming where `what` (JSON text or its bytes) nests deeper than `maxDepth`. */
export function checkJsonDepth(
  src: string | Uint8Array,
  what = 'body',
  maxDepth = MAX_JSON_DEPTH,
): void {
  const at = jsonTooDeepAt(src, maxDepth);
  if (at >= 0) {
    throw new BadInput(
      `${what} nests arrays and objects more than ${maxDepth} levels deep (at offset ${at})`,
      { maxDepth },
    );
  }
}
