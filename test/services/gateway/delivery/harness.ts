import { randomUUID } from 'node:crypto';
import { Keys, type Prediction } from '../../../../shared/index.js';
import { LiveConfig } from '../../../../shared/store/live-config.js';
import { DeliveryService } from '../../../../services/gateway/delivery/delivery-service.js';
import { putConfigDocument } from '../../../../services/gateway/delivery/config-documents.js';
import type { GatewayEvent } from '../../../../shared/events/report.js';
import type { PluginHost } from '../../../../services/gateway/plugins/plugin-host.js';
import type { WsTopicPublisher } from '../../../../services/gateway/delivery/channels/senders.js';
import type { TestRedis } from '../../../helpers/redis.js';
import type { DeliveryJob } from '../../../../shared/index.js';

export function prediction(
  i: number,
  probs: number[] = [0.1, 0.7, 0.2],
  model = 'digits',
): Prediction {
  return {
    id: `p-${i}`,
    model,
    generation: 3,
    time: new Date(Date.UTC(2025, 0, 6, 10, 0, i % 60)).toISOString(),
    inputs: { metadata: { device: 'cam-7', site: { city: 'Lyon' } } },
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, probs.length], data: probs }],
  };
}

export interface Harness {
  keys: Keys;
  live: LiveConfig;
  svc: DeliveryService;
  events: GatewayEvent[];
  close(): Promise<void>;
}

/** A DeliveryService with its own key prefix on a test Redis, started and following config. */
export async function deliveryHarness(
  r: TestRedis,
  opts: {
    plugins?: PluginHost;
    ws?: WsTopicPublisher;
    concurrency?: number;
    onDelivered?: (j: DeliveryJob) => void;
  } = {},
): Promise<Harness> {
  const keys = new Keys(r.prefix());
  const events: GatewayEvent[] = [];
  const report = (e: GatewayEvent) => void events.push(e);
  const redis = r.client();
  const live = new LiveConfig(redis, keys, { report });
  const svc = new DeliveryService({
    redis,
    keys,
    live,
    report,
    mqttClientIdBase: `t-${randomUUID().slice(0, 8)}`,
    ...opts,
  });
  await svc.start();
  await live.start();
  return {
    keys,
    live,
    svc,
    events,
    async close() {
      await svc.close();
      await live.close();
    },
  };
}

/**
 * Replaces the rules of the current `delivery` document (channels, formatters and rules
 * are one document; most tests set the channels first, then the rules).
 */
export async function putDeliveryRules(
  live: LiveConfig,
  rules: { rules: unknown[] },
  opts: { plugins?: PluginHost } = {},
): Promise<{ version: number }> {
  const cur = await live.get<Record<string, unknown>>('delivery');
  return putConfigDocument(
    live,
    'delivery',
    { channels: {}, formatters: {}, ...cur.doc, ...rules },
    opts,
  );
}
