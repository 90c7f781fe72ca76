import { lineError } from './bad-input.js';
import { CLOSE, OPEN, PLAIN, shown, tokenText, type LineTokens } from './arff-tokens.js';

export type ArffAttribute =
  | { name: string; type: 'numeric' }
  | { name: string; type: 'nominal'; values: string[]; ids: Map<string, number> };

/** What the lines before `@data` declared. */
export interface ArffHeader {
  relation?: string;
  attributes: ArffAttribute[];
}

const NUMERIC = new Set(['numeric', 'real', 'integer']);
const UNSUPPORTED: Record<string, string> = {
  string:
    'string attributes are not supported: drop the attribute, or declare it nominal {a,b,...}',
  date: 'date attributes are not supported: convert the dates to numbers',
  relational: 'relational (multi-instance) attributes are not supported',
};

/**
 * Reads one tokenised line of the header. Returns true at `@data`, after which the caller
 * reads data lines. Keywords are case-insensitive, as Weka reads them.
 */
export function readHeaderLine(h: ArffHeader, t: LineTokens, buf: Buffer, line: number): boolean {
  if (t.n === 0) return false;
  const keyword = t.kind[0] === PLAIN ? tokenText(t, 0, buf).toLowerCase() : '';
  switch (keyword) {
    case '@relation':
      if (t.n < 2) throw lineError(line, t.col[0]!, '@relation needs a name');
      h.relation = tokenText(t, 1, buf);
      return false;
    case '@attribute':
      h.attributes.push(readAttribute(h, t, buf, line));
      return false;
    case '@data':
      if (h.attributes.length === 0)
        throw lineError(line, t.col[0]!, '@data before any @attribute');
      return true;
    default:
      throw lineError(
        line,
        t.col[0]!,
        `expected @relation, @attribute or @data, found ${shown(tokenText(t, 0, buf))}`,
      );
  }
}

function readAttribute(h: ArffHeader, t: LineTokens, buf: Buffer, line: number): ArffAttribute {
  if (t.n < 2 || t.kind[1] === OPEN || t.kind[1] === CLOSE) {
    throw lineError(line, t.col[0]!, '@attribute needs a name and a type');
  }
  const name = tokenText(t, 1, buf);
  if (h.attributes.some((a) => a.name === name)) {
    throw lineError(line, t.col[1]!, `attribute ${shown(name)} is declared twice`);
  }
  if (t.n < 3) throw lineError(line, t.col[1]!, `attribute ${shown(name)} has no type`);
  if (t.kind[2] === OPEN) return readNominal(name, t, buf, line);
  const type = tokenText(t, 2, buf).toLowerCase();
  const why = UNSUPPORTED[type];
  if (why) throw lineError(line, t.col[2]!, `attribute ${shown(name)}: ${why}`);
  if (!NUMERIC.has(type) || t.kind[2] !== PLAIN) {
    throw lineError(
      line,
      t.col[2]!,
      `attribute ${shown(name)} has unknown type ${shown(tokenText(t, 2, buf))}; known: numeric, real, integer, {nominal values}`,
    );
  }
  if (t.n > 3) {
    throw lineError(line, t.col[3]!, `unexpected ${shown(tokenText(t, 3, buf))} after the type`);
  }
  return { name, type: 'numeric' };
}

function readNominal(name: string, t: LineTokens, buf: Buffer, line: number): ArffAttribute {
  const values: string[] = [];
  const ids = new Map<string, number>();
  let i = 3;
  for (; i < t.n && t.kind[i] !== CLOSE; i++) {
    if (t.kind[i] === OPEN) throw lineError(line, t.col[i]!, 'unexpected { inside a value list');
    const v = tokenText(t, i, buf);
    if (ids.has(v)) throw lineError(line, t.col[i]!, `value ${shown(v)} is listed twice`);
    ids.set(v, values.length);
    values.push(v);
  }
  if (i === t.n) throw lineError(line, t.col[2]!, `the values of ${shown(name)} have no closing }`);
  if (values.length === 0)
    throw lineError(line, t.col[2]!, `attribute ${shown(name)} has no values`);
  if (i + 1 < t.n) {
    throw lineError(line, t.col[i + 1]!, `unexpected ${shown(tokenText(t, i + 1, buf))} after }`);
  }
  return { name, type: 'nominal', values, ids };
}
