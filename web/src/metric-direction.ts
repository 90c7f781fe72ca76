/** Which way each metric is better, so a comparison can say better or worse, not up or down. */

const LOWER = /loss|error|err$|rmse|mse|mae|latency|time|perplexity|nll/i;

/**
 * True when a higher value is better. The rules' accept metric may say otherwise for its own
 * metric (`overrides`); else names such as loss, rmse or error are lower-is-better.
 */
export function higherIsBetter(metric: string, overrides: Record<string, boolean> = {}): boolean {
  if (metric in overrides) return overrides[metric]!;
  return !LOWER.test(metric);
}

/** 'better' | 'worse' | 'same' for b against a. */
export function verdict(
  metric: string,
  a: number | undefined,
  b: number | undefined,
  overrides: Record<string, boolean> = {},
): 'better' | 'worse' | 'same' | undefined {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) return undefined;
  if (a === b) return 'same';
  return b > a === higherIsBetter(metric, overrides) ? 'better' : 'worse';
}

/** Reads the rules' accept metrics with an explicit direction (any failure: no overrides). */
export function directionOverrides(rules: unknown): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const visit = (r: unknown) => {
    const a = (r as { accept?: { metric?: unknown; higherIsBetter?: unknown } } | null)?.accept;
    if (a && typeof a.metric === 'string' && typeof a.higherIsBetter === 'boolean')
      out[a.metric] = a.higherIsBetter;
  };
  const doc = (rules as { document?: unknown; rules?: unknown } | null) ?? {};
  const body = (doc.document ?? doc.rules ?? rules) as Record<string, unknown> | null;
  if (body && typeof body === 'object') {
    visit(body);
    for (const r of Object.values((body.perModel as Record<string, unknown> | undefined) ?? {}))
      visit(r);
  }
  return out;
}
