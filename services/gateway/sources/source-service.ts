import {
  DataSourcesDoc,
  NotFound,
  BadInput,
  type DataSource,
  type Logger,
  safeReport,
  type Report,
  type LiveConfig,
} from '../../../shared/index.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { mapMessage, splitPush } from './mapping.js';
import { MqttSubscription } from './mqtt-source.js';
import { RowBatcher } from './row-batcher.js';
import type { SampleRow, SampleSink } from './sample-sink.js';

export interface SourceServiceOptions {
  live: LiveConfig;
  sink: SampleSink;
  plugins?: PluginHost;
  log?: Logger;
  /** `source.appended` events feed the retraining trigger */
  report?: Report;
  /** stable per process; each MQTT source subscribes as `<base>-<source id>` */
  mqttClientIdBase: string;
}

export interface SourceStatus {
  id: string;
  type: DataSource['type'];
  dataset: string;
  state: 'running' | 'failed' | 'disabled' | 'push';
  received: number;
  appended: number;
  rejected: number;
  lastError: string | null;
}

interface Running {
  def: DataSource;
  signature: string;
  status: SourceStatus;
  batcher: RowBatcher;
  stop: (forget: boolean) => Promise<void>;
}

function isRow(x: unknown): x is SampleRow {
  if (!x || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  return (
    Array.isArray(r.features) &&
    r.features.length > 0 &&
    r.features.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    ((typeof r.label === 'number' && Number.isFinite(r.label)) || typeof r.label === 'string')
  );
}

/** Whether a change to a source means its broker-side subscription must go. */
function movedOrGone(old: DataSource, next: DataSource | undefined): boolean {
  if (!next || old.type !== 'mqtt' || next.type !== 'mqtt') return true;
  return old.url !== next.url || old.topic !== next.topic;
}

/**
 * Runs the live `sources` document: MQTT subscriptions and plugin sources are started,
 * restarted on change and stopped on removal; HTTP sources are served by `push`. Every
 * accepted message becomes a sample appended to the source's dataset through the sink.
 */
export class SourceService {
  private readonly running = new Map<string, Running>();
  private readonly report: Report;
  private unwatch: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SourceServiceOptions) {
    this.report = safeReport(opts.report);
  }

  async start(): Promise<void> {
    this.unwatch = this.opts.live.watch('sources', (v) => {
      const doc = DataSourcesDoc.safeParse(v.doc ?? { sources: [] });
      if (!doc.success)
        return this.opts.log?.error({ version: v.version }, 'stored sources invalid');
      // Reconciliations run one after another, so a quick second change never interleaves.
      this.queue = this.queue.then(() => this.reconcile(doc.data.sources));
    });
  }

  /** Resolves once every configuration change seen so far is applied. */
  settled(): Promise<void> {
    return this.queue;
  }

  status(): SourceStatus[] {
    return [...this.running.values()].map((r) => ({ ...r.status }));
  }

  /**
   * POST /api/v1/sources/{id}/push: maps the body (one JSON object, an array, or CSV lines)
   * and appends the accepted rows at once. Rejected messages are listed with their index.
   */
  async push(
    sourceId: string,
    body: unknown,
  ): Promise<{
    accepted: number;
    rejected: { index: number; error: string }[];
    version: number | null;
    total: number | null;
  }> {
    const r = this.running.get(sourceId);
    if (!r || r.def.type !== 'http') {
      throw new NotFound(`no enabled HTTP source "${sourceId}"`, {
        known: [...this.running.values()].filter((x) => x.def.type === 'http').map((x) => x.def.id),
      });
    }
    const def = r.def;
    const rows: SampleRow[] = [];
    const rejected: { index: number; error: string }[] = [];
    splitPush(def.mapping, body).forEach((m, index) => {
      const out = mapMessage(def.mapping, m);
      if (out.ok) rows.push(out.row);
      else rejected.push({ index, error: out.error });
    });
    r.status.received += rows.length + rejected.length;
    r.status.rejected += rejected.length;
    if (rows.length === 0) {
      throw new BadInput('no message in the body fits the source mapping', {
        rejected: rejected.slice(0, 20),
      });
    }
    const res = await this.opts.sink.append(def.dataset, rows);
    this.appended(r, rows.length, res);
    return { accepted: rows.length, rejected, version: res.version, total: res.total };
  }

  async close(): Promise<void> {
    this.unwatch?.();
    await this.queue;
    await Promise.all([...this.running.values()].map((r) => this.stopOne(r, false)));
    this.running.clear();
  }

  private appended(r: Running, rows: number, res: { version: number; total: number }): void {
    r.status.appended += rows;
    this.report({
      type: 'source.appended',
      source: r.def.id,
      dataset: r.def.dataset,
      rows,
      version: res.version,
      total: res.total,
    });
  }

  private async reconcile(defs: DataSource[]): Promise<void> {
    const wanted = new Map(defs.filter((d) => d.enabled).map((d) => [d.id, d]));
    for (const [id, r] of this.running) {
      const d = wanted.get(id);
      if (!d || JSON.stringify(d) !== r.signature) {
        await this.stopOne(r, movedOrGone(r.def, d));
        this.running.delete(id);
      }
    }
    for (const [id, d] of wanted) {
      if (!this.running.has(id)) await this.startOne(d);
    }
  }

  private async stopOne(r: Running, forget: boolean): Promise<void> {
    await r.stop(forget).catch(() => undefined);
    await r.batcher.close().catch(() => undefined);
    this.report({ type: 'source.stopped', source: r.def.id });
  }

  private async startOne(def: DataSource): Promise<void> {
    const status: SourceStatus = {
      id: def.id,
      type: def.type,
      dataset: def.dataset,
      state: def.type === 'http' ? 'push' : 'running',
      received: 0,
      appended: 0,
      rejected: 0,
      lastError: null,
    };
    const fail = (err: unknown) => {
      status.lastError = err instanceof Error ? err.message : String(err);
      this.report({ type: 'source.failed', source: def.id, error: status.lastError });
    };
    const r: Running = {
      def,
      signature: JSON.stringify(def),
      status,
      stop: async () => undefined,
      batcher: undefined as unknown as RowBatcher,
    };
    r.batcher = new RowBatcher({
      sink: this.opts.sink,
      dataset: def.dataset,
      maxRows: def.batch?.maxRows ?? 100,
      maxDelayMs: def.batch?.maxDelayMs ?? 200,
      onAppended: (res) => this.appended(r, res.rows, res),
      onError: fail,
    });
    this.running.set(def.id, r);
    try {
      if (def.type === 'mqtt') {
        const sub = new MqttSubscription(
          def,
          `${this.opts.mqttClientIdBase}-${def.id}`,
          (payload) => {
            status.received++;
            const out = mapMessage(def.mapping, payload);
            if (out.ok) r.batcher.add([out.row]);
            else {
              status.rejected++;
              this.report({ type: 'source.rejected', source: def.id, error: out.error });
            }
          },
          fail,
        );
        await sub.start();
        r.stop = (forget) => sub.stop(forget);
      } else if (def.type === 'plugin') {
        const plugins = this.opts.plugins;
        if (!plugins) throw new Error('plugins are not enabled');
        const stop = await plugins.startSource(def.plugin, def.config, {
          emit: async (rows) => {
            const list: unknown[] = Array.isArray(rows) ? rows : [];
            const good = list.filter(isRow);
            status.received += list.length;
            status.rejected += list.length - good.length;
            if (good.length < list.length) {
              this.report({
                type: 'source.rejected',
                source: def.id,
                error: 'plugin emitted malformed rows',
                count: list.length - good.length,
              });
            }
            r.batcher.add(good);
          },
          warn: (message, details) =>
            this.report({ type: 'source.failed', source: def.id, error: message, ...details }),
        });
        r.stop = () => stop();
      }
      this.report({ type: 'source.started', source: def.id, kind: def.type });
    } catch (err) {
      status.state = 'failed';
      fail(err);
    }
  }
}
