import { BadInput } from '../../../shared/index.js';

/** Where and why a text upload is malformed: 1-based line and byte column. */
export interface LineErrorDetails {
  line: number;
  col: number;
  reason: string;
}

/** `BadInput` for a text format, with a message such as `expected idx:value at line 1832, col 17`. */
export function lineError(line: number, col: number, reason: string): BadInput {
  const details: LineErrorDetails = { line, col, reason };
  return new BadInput(`${reason} at line ${line}, col ${col}`, details);
}

/** `BadInput` for one entry of an archive (a corrupt image, a hostile path). */
export function entryError(entry: string, reason: string): BadInput {
  return new BadInput(`${reason}: ${entry}`, { entry, reason });
}
