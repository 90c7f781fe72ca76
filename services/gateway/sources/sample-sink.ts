/** One labelled sample as sources produce it. */
export interface SampleRow {
  features: number[];
  label: number | string;
}

/**
 * Where sources append samples. The gateway connects it to the dataset store (append a new
 * version); the answer feeds the retraining trigger. Must be safe to call concurrently for
 * different datasets; calls for one dataset are made one at a time.
 */
export interface SampleSink {
  append(dataset: string, rows: SampleRow[]): Promise<{ version: number; total: number }>;
}

/** A sink kept in memory: local demos and tests. Each append makes a new version. */
export class InMemorySampleSink implements SampleSink {
  readonly datasets = new Map<string, { version: number; rows: SampleRow[] }>();

  async append(dataset: string, rows: SampleRow[]): Promise<{ version: number; total: number }> {
    const d = this.datasets.get(dataset) ?? { version: 0, rows: [] };
    d.rows.push(...rows.map((r) => ({ features: [...r.features], label: r.label })));
    d.version += 1;
    this.datasets.set(dataset, d);
    return { version: d.version, total: d.rows.length };
  }

  rows(dataset: string): SampleRow[] {
    return this.datasets.get(dataset)?.rows ?? [];
  }
}
