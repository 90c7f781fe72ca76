import { lineError } from './bad-input.js';

export interface Fields {
  texts: string[];
  /** 1-based byte column where each field starts. */
  cols: number[];
}

const QUOTE = 34;

/**
 * Splits one CSV line into strings, honouring RFC 4180 quotes (`""` inside quotes is a quote).
 * The slow path: used for header lines and rows that contain quotes.
 */
export function splitFields(
  buf: Buffer,
  start: number,
  end: number,
  delim: number,
  line: number,
): Fields {
  const texts: string[] = [];
  const cols: number[] = [];
  let i = start;
  for (;;) {
    cols.push(i - start + 1);
    while (i < end && buf[i] === 32 && delim !== 32) i++;
    if (i < end && buf[i] === QUOTE) {
      const parts: string[] = [];
      let from = ++i;
      for (;;) {
        if (i >= end) {
          throw lineError(line, cols.at(-1)!, 'unclosed quote (a quoted field cannot span lines)');
        }
        if (buf[i] === QUOTE) {
          parts.push(buf.toString('utf8', from, i));
          if (i + 1 < end && buf[i + 1] === QUOTE) {
            parts.push('"');
            i += 2;
            from = i;
            continue;
          }
          i++;
          break;
        }
        i++;
      }
      while (i < end && buf[i] === 32 && delim !== 32) i++;
      if (i < end && buf[i] !== delim)
        throw lineError(line, i - start + 1, 'expected a delimiter after a quoted field');
      texts.push(parts.join(''));
    } else {
      const from = i;
      while (i < end && buf[i] !== delim) i++;
      texts.push(buf.toString('utf8', from, i).trim());
    }
    if (i >= end) break;
    i++;
  }
  return { texts, cols };
}

/** The separator of a file whose options name none: comma, else tab, else semicolon. */
export function guessDelimiter(buf: Buffer, start: number, end: number): number {
  const line = buf.subarray(start, end);
  if (line.includes(44)) return 44;
  if (line.includes(9)) return 9;
  if (line.includes(59)) return 59;
  return 44;
}

/** Field texts that mean "missing" (NaN) rather than bad input. */
export function isMissingText(t: string): boolean {
  return t === '' || t === 'NA' || t === '?';
}
