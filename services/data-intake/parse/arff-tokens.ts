import { lineError } from './bad-input.js';

/** What a token is: a word, a quoted string, or one of the braces of a nominal list or sparse row. */
export const PLAIN = 0;
export const QUOTED = 1;
export const OPEN = 2;
export const CLOSE = 3;

/**
 * The tokens of one ARFF line, in arrays reused from line to line (a data line allocates
 * nothing unless it has quoted or nominal values). Offsets index the line's buffer; they
 * are valid only while the line handler runs.
 */
export interface LineTokens {
  n: number;
  kind: Uint8Array;
  /** Plain words: `buf[start..end)`. */
  start: Int32Array;
  end: Int32Array;
  /** 1-based byte column of the token's first byte (the quote of a quoted one). */
  col: Int32Array;
  /** The text of quoted tokens, escapes undone. */
  text: string[];
}

export function createLineTokens(): LineTokens {
  return {
    n: 0,
    kind: new Uint8Array(64),
    start: new Int32Array(64),
    end: new Int32Array(64),
    col: new Int32Array(64),
    text: [],
  };
}

const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const PERCENT = 37;
const LBRACE = 123;
const RBRACE = 125;
const SQUOTE = 39;
const DQUOTE = 34;
const BACKSLASH = 92;

const isSeparator = (c: number): boolean => c === SPACE || c === TAB || c === COMMA || c === 13;

/**
 * Splits one line as Weka's reader does: commas and blanks separate tokens, `'...'` and
 * `"..."` quote (with backslash escapes), `{` and `}` are tokens of their own, and `%`
 * outside quotes starts a comment that runs to the end of the line.
 */
export function tokenizeLine(
  t: LineTokens,
  buf: Buffer,
  start: number,
  end: number,
  line: number,
): void {
  t.n = 0;
  let p = start;
  for (;;) {
    while (p < end && isSeparator(buf[p]!)) p++;
    if (p >= end || buf[p] === PERCENT) return;
    if (t.n === t.kind.length) grow(t);
    const i = t.n++;
    const c = buf[p]!;
    t.col[i] = p - start + 1;
    if (c === LBRACE || c === RBRACE) {
      t.kind[i] = c === LBRACE ? OPEN : CLOSE;
      t.start[i] = p;
      t.end[i] = ++p;
    } else if (c === SQUOTE || c === DQUOTE) {
      t.kind[i] = QUOTED;
      p = readQuoted(t, i, buf, p, end, line, start);
    } else {
      t.kind[i] = PLAIN;
      t.start[i] = p;
      while (p < end) {
        const d = buf[p]!;
        if (isSeparator(d) || d === PERCENT || d === LBRACE || d === RBRACE) break;
        p++;
      }
      t.end[i] = p;
    }
  }
}

function readQuoted(
  t: LineTokens,
  i: number,
  buf: Buffer,
  p: number,
  end: number,
  line: number,
  lineStart: number,
): number {
  const quote = buf[p]!;
  const open = p++;
  let from = p;
  let parts: string[] | null = null;
  for (;;) {
    if (p >= end) {
      throw lineError(
        line,
        open - lineStart + 1,
        'unclosed quote (a quoted value cannot span lines)',
      );
    }
    const c = buf[p]!;
    if (c === quote) break;
    if (c === BACKSLASH && p + 1 < end) {
      (parts ??= []).push(buf.toString('utf8', from, p), unescape(buf[p + 1]!));
      p += 2;
      from = p;
      continue;
    }
    p++;
  }
  const last = buf.toString('utf8', from, p);
  t.text[i] = parts ? parts.join('') + last : last;
  t.start[i] = open + 1;
  t.end[i] = p;
  return p + 1;
}

function unescape(c: number): string {
  if (c === 110) return '\n';
  if (c === 116) return '\t';
  if (c === 114) return '\r';
  return String.fromCharCode(c);
}

function grow(t: LineTokens): void {
  const n = t.kind.length * 2;
  const kind = new Uint8Array(n);
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  const col = new Int32Array(n);
  kind.set(t.kind);
  start.set(t.start);
  end.set(t.end);
  col.set(t.col);
  Object.assign(t, { kind, start, end, col });
}

/** A token's text: quoted ones as written between the quotes, escapes undone. */
export function tokenText(t: LineTokens, i: number, buf: Buffer): string {
  if (t.kind[i] === QUOTED) return t.text[i]!;
  return buf.toString('utf8', t.start[i], t.end[i]);
}

/** A token's text for an error message: at most 40 characters, quoted. */
export function shown(text: string): string {
  return `'${text.length > 40 ? `${text.slice(0, 40)}...` : text}'`;
}
