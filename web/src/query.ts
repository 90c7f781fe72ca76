/**
 * The Sessions filter's small query language: `valAccuracy > 0.9 trainer = mlp lr<=0.01`.
 * Terms are `key op value` (op: = != > < >= <= ~), all must hold; a bare word matches any
 * text of the row. Values compare as numbers when both sides are numbers.
 */

export type Op = '=' | '!=' | '>' | '<' | '>=' | '<=' | '~';
export interface Term {
  key?: string;
  op?: Op;
  value: string;
}

const TERM = /([A-Za-z_][\w.-]*)\s*(!=|>=|<=|=|>|<|~)\s*("[^"]*"|[^\s"]+)|("[^"]*"|\S+)/g;

export function parseQuery(q: string): Term[] {
  const out: Term[] = [];
  for (const m of q.matchAll(TERM)) {
    if (m[1] !== undefined) out.push({ key: m[1], op: m[2] as Op, value: unquote(m[3]!) });
    else out.push({ value: unquote(m[4]!) });
  }
  return out;
}

function unquote(s: string): string {
  return s.startsWith('"') && s.endsWith('"') && s.length >= 2 ? s.slice(1, -1) : s;
}

function compare(actual: unknown, op: Op, want: string): boolean {
  if (actual === undefined || actual === null || actual === '') return op === '!=';
  const a = typeof actual === 'number' ? actual : Number(actual);
  const w = Number(want);
  const numeric = want.trim() !== '' && !Number.isNaN(w) && !Number.isNaN(a);
  const text = (typeof actual === 'string' ? actual : JSON.stringify(actual)).toLowerCase();
  const wt = want.toLowerCase();
  switch (op) {
    case '=':
      return numeric ? a === w : text === wt;
    case '!=':
      return numeric ? a !== w : text !== wt;
    case '~':
      return text.includes(wt);
    case '>':
      return numeric ? a > w : text > wt;
    case '<':
      return numeric ? a < w : text < wt;
    case '>=':
      return numeric ? a >= w : text >= wt;
    case '<=':
      return numeric ? a <= w : text <= wt;
  }
}

/** Whether a row passes every term; `field(key)` answers the row's value for a key. */
export function matchesQuery(
  terms: Term[],
  field: (key: string) => unknown,
  text: string,
): boolean {
  const lower = text.toLowerCase();
  return terms.every((t) =>
    t.key === undefined
      ? lower.includes(t.value.toLowerCase())
      : compare(field(t.key), t.op!, t.value),
  );
}
