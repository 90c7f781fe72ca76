import { BadInput } from '../../../shared/index.js';

/** Where and why a text upload is malformed: 1-based line and byte column. */
export interface LineErrorDetails {
  line: number;
  col: number;
  reason: string;
  /** What would likely fix it, in words (also appended to the message). */
  hint?: string;
  /** The same as upload query parameters to set, e.g. `{labelColumn: '0'}`; a client can name its own flags. */
  suggest?: Record<string, string>;
}

/** `BadInput` for a text format, with a message such as `value 'x' is not a number at line 1832, col 17`. */
export function lineError(
  line: number,
  col: number,
  reason: string,
  fix?: { hint: string; suggest: Record<string, string> },
): BadInput {
  const details: LineErrorDetails = { line, col, reason, ...fix };
  const message = `${reason} at line ${line}, col ${col}${fix ? `; ${fix.hint}` : ''}`;
  return new BadInput(message, details);
}

/** `BadInput` for one entry of an archive (a corrupt image, a hostile path). */
export function entryError(entry: string, reason: string): BadInput {
  return new BadInput(`${reason}: ${entry}`, { entry, reason });
}
