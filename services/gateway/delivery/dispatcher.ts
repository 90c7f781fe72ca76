import type { Queue } from 'bullmq';
import {
  type DeliveryDoc,
  type DeliveryJob,
  type DeliveryRule,
  type DeliveryRulesDoc,
  type Prediction,
  safeReport,
  type Report,
} from '../../../shared/index.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import { matches } from './conditions.js';
import { compileFormatter, type FormatFn } from './formatters.js';
import { jobOptions } from './job-options.js';

interface Compiled {
  rules: DeliveryRule[];
  delivery: DeliveryDoc;
  formatters: Map<string, FormatFn>;
}

export interface DispatcherOptions {
  deliveries: Queue;
  plugins?: PluginHost;
  report?: Report;
  /** source of randomness for `sample` @defaultValue Math.random */
  random?: () => number;
}

/**
 * Turns predictions into delivery jobs: rule match → sample → format → enqueue. The rule
 * set is swapped whole on a config change, so one prediction never sees half of one
 * version and half of the next.
 */
export class Dispatcher {
  private current: Compiled | undefined;
  private readonly report: Report;
  private readonly random: () => number;

  constructor(private readonly opts: DispatcherOptions) {
    this.report = safeReport(opts.report);
    this.random = opts.random ?? Math.random;
  }

  /** Installs a configuration (already validated). */
  apply(rules: DeliveryRulesDoc | null, delivery: DeliveryDoc | null): void {
    const d = delivery ?? { channels: {}, formatters: {} };
    const p = this.opts.plugins;
    const formatters = new Map(
      Object.entries(d.formatters).map(([id, f]) => [
        id,
        compileFormatter(f, p ? (n, c, pred) => p.format(n, c, pred) : undefined),
      ]),
    );
    this.current = {
      rules: (rules?.rules ?? []).filter((r) => r.enabled),
      delivery: d,
      formatters,
    };
  }

  channel(id: string) {
    return this.current?.delivery.channels[id];
  }

  /** The jobs one prediction makes under the current rules (no side effects but plugins). */
  async plan(p: Prediction): Promise<DeliveryJob[]> {
    const c = this.current;
    if (!c) return [];
    const jobs: DeliveryJob[] = [];
    const plugins = this.opts.plugins;
    for (const r of c.rules) {
      if (r.model !== '*' && r.model !== p.model) continue;
      if (r.sample < 1 && this.random() >= r.sample) continue;
      const test = plugins ? plugins.test.bind(plugins) : undefined;
      if (!(await matches(r.when, p, test))) continue;
      const format = c.formatters.get(r.formatter);
      if (!format) continue;
      try {
        const f = await format(p, r.id);
        jobs.push({
          ruleId: r.id,
          channel: r.channel,
          predictionId: p.id,
          payload: f.payload,
          contentType: f.contentType,
          enqueuedAt: Date.now(),
        });
      } catch (err) {
        // A formatter that fails on this prediction will fail on every retry: skip and report.
        this.report({
          type: 'delivery.skipped',
          ruleId: r.id,
          predictionId: p.id,
          error: String(err),
        });
      }
    }
    return jobs;
  }

  /** Enqueues the deliveries of some predictions; resolves once they are stored in Redis. */
  async publish(predictions: Prediction | Prediction[]): Promise<{ queued: number }> {
    const list = Array.isArray(predictions) ? predictions : [predictions];
    const jobs = (await Promise.all(list.map((p) => this.plan(p)))).flat();
    if (jobs.length === 0) return { queued: 0 };
    await this.opts.deliveries.addBulk(
      jobs.map((data) => ({
        name: 'delivery',
        data,
        opts: jobOptions(this.channel(data.channel)),
      })),
    );
    return { queued: jobs.length };
  }
}
