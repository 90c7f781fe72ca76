import { isUtf8 } from 'node:buffer';
import { BadInput } from '../../../shared/index.js';
import { lineError } from './bad-input.js';

/**
 * Receives one line without its terminator (`\n` or `\r\n`): bytes `buf[start..end)`.
 * `lineNo` is 1-based. The buffer is only valid during the call.
 */
export type LineHandler = (buf: Buffer, start: number, end: number, lineNo: number) => void;

export interface LineSplitter {
  /** Calls the handler for every complete line in `chunk`; keeps the partial tail. */
  push(chunk: Buffer): void;
  /** Flushes a last line that has no terminator. */
  end(): void;
  /** Lines seen so far. */
  readonly lines: number;
}

/** @defaultValue 16 MiB: a longer line is almost certainly not a text dataset. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a byte stream into lines with `indexOf` over each chunk, which is much faster than
 * readline for the many-short-lines case and never decodes bytes the parser does not need.
 * Every line must be UTF-8: decoding would turn each invalid byte into U+FFFD, so that labels
 * `\xff` and `\xfe` became one class "�". The complete lines of a chunk are checked at once
 * (no UTF-8 sequence holds a newline byte), and line by line only to name the bad one.
 */
export function createLineSplitter(
  onLine: LineHandler,
  maxLineBytes = MAX_LINE_BYTES,
): LineSplitter {
  let lineNo = 0;
  // A line split across chunks is kept as parts and joined once its end arrives,
  // so a long line costs one copy rather than one per chunk.
  let tail: Buffer[] = [];
  let tailBytes = 0;

  /** `checked`: the line is known to be UTF-8 (its whole chunk was) */
  const emit = (buf: Buffer, start: number, end: number, checked = false): void => {
    lineNo++;
    if (!checked && !isUtf8(buf.subarray(start, end))) throw notUtf8(buf, start, end, lineNo);
    if (end > start && buf[end - 1] === 13) end--;
    onLine(buf, start, end, lineNo);
  };

  return {
    get lines() {
      return lineNo;
    },
    push(chunk) {
      let pos = 0;
      if (tailBytes > 0) {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          keepTail(chunk);
          return;
        }
        tail.push(chunk.subarray(0, nl));
        const joined = Buffer.concat(tail);
        tail = [];
        tailBytes = 0;
        emit(joined, 0, joined.length);
        pos = nl + 1;
      }
      const lastNl = chunk.lastIndexOf(10);
      const valid = lastNl < pos || isUtf8(chunk.subarray(pos, lastNl));
      for (;;) {
        const nl = chunk.indexOf(10, pos);
        if (nl < 0) break;
        emit(chunk, pos, nl, valid);
        pos = nl + 1;
      }
      if (pos < chunk.length) keepTail(chunk.subarray(pos));
    },
    end() {
      if (tailBytes === 0) return;
      const joined = Buffer.concat(tail);
      tail = [];
      tailBytes = 0;
      emit(joined, 0, joined.length);
    },
  };

  function keepTail(part: Buffer): void {
    tailBytes += part.length;
    if (tailBytes > maxLineBytes) {
      throw new BadInput(`line ${lineNo + 1} is longer than ${maxLineBytes} bytes`, {
        line: lineNo + 1,
        col: 1,
        reason: 'line too long',
      });
    }
    tail.push(part);
  }
}

/** The 400 for a line that is not UTF-8, at its first invalid byte. */
function notUtf8(buf: Buffer, start: number, end: number, line: number): BadInput {
  let at = start;
  while (at < end) {
    const b = buf[at]!;
    if (b < 0x80) {
      at++;
      continue;
    }
    // The sequence's length from its lead byte; isUtf8 judges the rest (overlongs, surrogates).
    const len =
      b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || !isUtf8(buf.subarray(at, Math.min(at + len, end)))) break;
    at += len;
  }
  const byte = buf[at] ?? 0;
  return lineError(
    line,
    at - start + 1,
    `invalid UTF-8 (byte 0x${byte.toString(16).padStart(2, '0')}); text uploads must be UTF-8`,
  );
}
