/**
 * Percent-decoding of request paths. decodeURIComponent throws a URIError on a sequence that
 * is not UTF-8 (`%ff`, the overlong `%C0%AE`), which would surface as a 500: here it is the
 * client's 400.
 */
import { BadInput } from '../errors.js';
import { excerpt } from './error-reply.js';

/** One path segment decoded; `what` names it in the 400 (`model name`). */
export function decodePathSegment(raw: string, what = 'path segment'): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadInput(`${what} is not valid percent-encoded UTF-8: ${excerpt(raw, 80)}`);
  }
}

/** Throws a 400 when some percent-escape of `path` (query excluded) does not decode. */
export function checkPathEncoding(path: string): void {
  const q = path.indexOf('?');
  decodePathSegment(q < 0 ? path : path.slice(0, q), 'the path');
}
