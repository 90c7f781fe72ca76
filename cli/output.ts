/** Prints either JSON (for scripts, `--json`) or a human rendering. */
export function emit(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

/** Aligned columns, two spaces apart. */
export function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** A plain text table with padded columns; missing cells show as `-`. */
export function table(rows: (string | number | null | undefined)[][], header: string[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  return columns([header, ...cells]).join('\n');
}

/**
 * One number for people: `—` when absent (null/undefined, or not a number at all), `NaN` and
 * `Infinity`/`-Infinity` as such, others with `digits` decimals. JSON carries no NaN, so
 * payloads hold null where a number went non-finite: format payload numbers with this, never
 * with `.toFixed` on the raw value.
 * @param digits decimals @defaultValue 4
 */
export function num(v: unknown, digits = 4): string {
  if (typeof v !== 'number') return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v.toFixed(digits);
}
