/** Worker log lines made readable: pino JSON becomes `time LEVEL msg key=value`. */

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** fields every pino line has, shown in their own places or not at all */
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

export interface LogLine {
  level: string;
  text: string;
}

function short(v: unknown): string {
  if (typeof v === 'string') return v.length > 80 ? `${v.slice(0, 77)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** One raw line: a pino object is reformatted, anything else is kept as it is. */
export function formatLogLine(raw: string): LogLine {
  const t = raw.trim();
  if (!t.startsWith('{')) return { level: '', text: raw };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(t) as Record<string, unknown>;
  } catch {
    return { level: '', text: raw };
  }
  const level =
    typeof o.level === 'number'
      ? (LEVELS[o.level] ?? String(o.level))
      : typeof o.level === 'string'
        ? o.level
        : '';
  const when =
    typeof o.time === 'number' || typeof o.time === 'string'
      ? new Date(o.time).toISOString().slice(11, 19)
      : '';
  const err = o.err as { message?: string } | undefined;
  const extra = Object.entries(o)
    .filter(([k]) => !SKIP.has(k) && k !== 'err')
    .map(([k, v]) => `${k}=${short(v)}`);
  const text = [
    when,
    level.padEnd(5),
    typeof o.msg === 'string' ? o.msg : '',
    err?.message ? `(${err.message})` : '',
    ...extra,
  ]
    .filter(Boolean)
    .join(' ');
  return { level: level.toLowerCase(), text };
}
