/**
 * JSON.parse that also takes the bare `NaN`, `Infinity` and `-Infinity` tokens TF Serving
 * clients send for non-finite floats. Strict JSON goes the fast path; only bodies that
 * fail it are rescanned.
 */
import { BadInput, checkJsonDepth } from '../../../shared/index.js';

const MARK = '\u0000nf:';
/** MARK as JSON escapes (a raw control character is not legal inside a JSON string) */
const MARK_JSON = '\\u0000nf:';
const TOKENS: [string, number][] = [
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['NaN', Number.NaN],
];

export function parseLenientJson(text: string): unknown {
  return parseLenient(text).value;
}

/**
 * The value, and whether the text wrote any of the non-finite tokens: where it did not, an
 * infinite number in the value came from a literal too large for a double (`1e309`).
 */
export function parseLenient(text: string): { value: unknown; nonFiniteTokens: boolean } {
  checkJsonDepth(text);
  try {
    return { value: JSON.parse(text) as unknown, nonFiniteTokens: false };
  } catch (strictErr) {
    const { rewritten, found } = quoteNonFinite(text);
    if (!found) throw new BadInput(`body is not valid JSON: ${(strictErr as Error).message}`);
    try {
      const value: unknown = JSON.parse(rewritten, (_k, v: unknown) => {
        if (typeof v === 'string' && v.startsWith(MARK)) return Number(v.slice(MARK.length));
        // Tokens are still marked strings here: an infinite number is an overflowing literal.
        if (typeof v === 'number' && !Number.isFinite(v)) {
          throw new BadInput('body holds a number too large for a 64-bit float');
        }
        return v;
      });
      return { value, nonFiniteTokens: true };
    } catch (err) {
      if (err instanceof BadInput) throw err;
      throw new BadInput(`body is not valid JSON: ${(err as Error).message}`);
    }
  }
}

/** Turns the tokens outside strings into marked strings that the reviver turns back. */
function quoteNonFinite(text: string): { rewritten: string; found: boolean } {
  let out = '';
  let last = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    if (c !== 'N' && c !== 'I' && c !== '-') continue;
    const hit = TOKENS.find(([t]) => text.startsWith(t, i));
    if (!hit) continue;
    out += `${text.slice(last, i)}"${MARK_JSON}${hit[1]}"`;
    i += hit[0].length - 1;
    last = i + 1;
    found = true;
  }
  return { rewritten: out + text.slice(last), found };
}
