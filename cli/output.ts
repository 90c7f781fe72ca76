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
