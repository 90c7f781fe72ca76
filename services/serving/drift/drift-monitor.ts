/**
 * Input drift per model: served rows go into a sliding window of per-feature bins and are
 * compared (PSI, psi.ts) with a sample of the generation's training dataset (its lineage).
 * The score is the `swarmml_input_drift{model}` gauge; crossing the threshold appends one
 * `serving.drift` event, and the alarm re-arms only once the score falls below `clear`.
 * Models without lineage (uploaded ONNX files) are not monitored.
 */
import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import type {
  DatasetStore,
  EventLog,
  Logger,
  ModelRegistry,
  RowBatch,
} from '../../../shared/index.js';
import { DriftWindow, buildReference, nextAlarm } from './psi.js';
import type { TensorMap } from '../tensors/tensors.js';

export interface DriftOptions {
  registry: ModelRegistry;
  datasets: DatasetStore;
  events: EventLog;
  log: Logger;
  /** rows in the sliding window @defaultValue 1000 */
  window?: number;
  /** bins per feature @defaultValue 10 */
  bins?: number;
  /** mean PSI that raises an event @defaultValue 0.2 */
  threshold?: number;
  /** mean PSI under which a raised alarm re-arms @defaultValue 0.1 */
  clear?: number;
  /** rows needed before a score is reported @defaultValue 200 */
  minRows?: number;
  /** training rows sampled for the reference @defaultValue 2000 */
  referenceRows?: number;
  /** share of requests looked at, 0..1 @defaultValue 1 */
  sample?: number;
  /** how often scores are checked against the threshold (ms) @defaultValue 1000 */
  checkMs?: number;
}

interface ModelState {
  gen: number;
  /** null: no reference (no lineage, or its width differs from the input's) */
  window: DriftWindow | null;
  raised: boolean;
  score: number | null;
}

export class DriftMonitor {
  private readonly states = new Map<string, ModelState>();
  private readonly loading = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly replica = `${hostname()}:${process.pid}`;

  constructor(private readonly o: DriftOptions) {}

  /** Registers the gauge in a serving metrics registry. */
  register(registry: Registry): void {
    const states = this.states;
    new Gauge({
      name: 'swarmml_input_drift',
      help: 'mean population stability index of served inputs against the training data, per model',
      labelNames: ['model'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [model, s] of states) if (s.score !== null) this.set({ model }, s.score);
      },
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.checkMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Called with every request's inputs (the hot path: cheap, never throws). */
  observe(model: string, gen: number, inputs: TensorMap): void {
    const sample = this.o.sample ?? 1;
    if (sample < 1 && Math.random() >= sample) return;
    const s = this.states.get(model);
    if (!s || gen > s.gen) {
      this.prepare(model, gen);
      return;
    }
    if (gen !== s.gen || !s.window) return;
    const names = Object.keys(inputs);
    if (names.length !== 1) return;
    const t = inputs[names[0]!]!;
    const rows = t.dims[0] ?? 0;
    if (rows === 0 || t.data.length !== rows * s.window.ref.width) return;
    if (t.type === 'int64' || t.type === 'uint64' || t.type === 'float16') return;
    s.window.add(t.data as ArrayLike<number>, rows);
  }

  /** The current score of a model, null until enough rows were seen. */
  score(model: string): number | null {
    return this.states.get(model)?.score ?? null;
  }

  /** Updates scores and raises events; the timer calls it, tests may too. */
  async check(): Promise<void> {
    const minRows = this.o.minRows ?? 200;
    for (const [model, s] of this.states) {
      if (!s.window || s.window.count < minRows) continue;
      const per = s.window.perFeature();
      s.score = s.window.psi();
      const threshold = this.o.threshold ?? 0.2;
      const alarm = nextAlarm(s.raised, s.score, threshold, this.o.clear ?? threshold / 2);
      s.raised = alarm.raised;
      if (!alarm.fire) continue;
      const top = [...per.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([feature, psi]) => ({ feature, psi }));
      this.o.log.warn({ model, gen: s.gen, psi: s.score }, 'input drift');
      await this.o.events
        .append({
          kind: 'serving.drift',
          payload: {
            model,
            gen: s.gen,
            psi: s.score,
            threshold,
            windowRows: s.window.count,
            topFeatures: top,
            replica: this.replica,
          },
        })
        .catch((err: unknown) => this.o.log.warn({ err, model }, 'drift event not archived'));
    }
  }

  private prepare(model: string, gen: number): void {
    const key = `${model}@${gen}`;
    if (this.loading.has(key)) return;
    this.loading.add(key);
    this.reference(model, gen)
      .then((window) => {
        const cur = this.states.get(model);
        if (!cur || gen > cur.gen)
          this.states.set(model, { gen, window, raised: false, score: null });
      })
      .catch((err: unknown) => {
        this.o.log.warn({ err, model, gen }, 'no drift reference');
        this.states.set(model, { gen, window: null, raised: false, score: null });
      })
      .finally(() => this.loading.delete(key));
  }

  private async reference(model: string, gen: number): Promise<DriftWindow | null> {
    const g = await this.o.registry.getGeneration(model, gen);
    if (!g.lineage) return null;
    const { dataset, version } = g.lineage;
    const meta = await this.o.datasets.getVersion(dataset, version);
    const n = Math.min(meta.count, this.o.referenceRows ?? 2000);
    if (n === 0) return null;
    const b = await this.o.datasets.readRows(dataset, version, 0, n);
    const { values, width } = flatten(b);
    const stats = meta.stats as
      { features?: { min: (number | null)[]; max: (number | null)[] } } | undefined;
    const range =
      b.kind === 'tabular' && stats?.features?.min.length === width ? stats.features : undefined;
    const ref = buildReference(values, b.rows, width, this.o.bins ?? 10, range);
    return new DriftWindow(ref, this.o.window ?? 1000);
  }
}

function flatten(b: RowBatch): { values: ArrayLike<number>; width: number } {
  return b.kind === 'tabular'
    ? { values: b.features, width: b.dim }
    : { values: b.pixels, width: b.height * b.width * b.channels };
}
