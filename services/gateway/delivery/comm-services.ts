import type { Redis } from 'ioredis';
import {
  DatasetStore,
  EventLog,
  type Keys,
  type Logger,
  createSampleAppender,
  LiveConfig,
} from '../../../shared/index.js';
import { rulesRoutes } from '../config/rules-routes.js';
import type { GatewayConfig } from '../config.js';
import { configRoutes } from '../config/config-routes.js';
import { datasetSampleSink } from '../datasets/dataset-sample-sink.js';
import { deliveryRoutes } from './delivery-routes.js';
import type { RouteModule } from '../http/route-context.js';
import { openapiRoutes } from '../openapi/openapi-route.js';
import { PluginHost } from '../plugins/plugin-host.js';
import { createPredictionCapture, parseInferencePath } from '../serving/prediction-capture.js';
import { SourceService } from '../sources/source-service.js';
import { DeliveryService } from './delivery-service.js';
import { archiveReport } from './event-report.js';
import { wsTopicPublisher, type LiveTopicSink } from './ws-topic.js';

export interface CommDeps {
  config: Pick<
    GatewayConfig,
    'PLUGINS_DIR' | 'DELIVERY_CONCURRENCY' | 'DELIVERY_WORKER' | 'MQTT_CLIENT_ID'
  >;
  log: Logger;
  redis: Redis;
  keys: Keys;
  /** the WebSocket side (built later than this); `ws` channels publish there */
  liveTopics: () => LiveTopicSink | undefined;
}

/**
 * The comm gateway's outbound and inbound halves, wired: live configuration, plugins,
 * delivery (rules → formatters → channels, DLQ), sources (→ dataset appends → the
 * `dataset.version` events the retraining trigger follows), and their routes.
 */
export function buildComm(d: CommDeps) {
  const { config, log, redis, keys } = d;
  const events = new EventLog(redis, keys);
  const report = archiveReport(events, log);
  const live = new LiveConfig(redis, keys, { log, report });
  const plugins = config.PLUGINS_DIR ? new PluginHost({ report }) : undefined;
  const delivery = new DeliveryService({
    redis,
    keys,
    live,
    log,
    report,
    plugins,
    ws: wsTopicPublisher(d.liveTopics),
    worker: config.DELIVERY_WORKER,
    concurrency: config.DELIVERY_CONCURRENCY,
    mqttClientIdBase: config.MQTT_CLIENT_ID,
  });
  const appendSamples = createSampleAppender({
    datasets: new DatasetStore(redis, keys),
    events,
    keys,
    log,
  });
  const sources = new SourceService({
    live,
    sink: datasetSampleSink(appendSamples),
    plugins,
    log,
    report,
    mqttClientIdBase: `${config.MQTT_CLIENT_ID}-src`,
  });
  const routes: RouteModule[] = [
    configRoutes({ live, plugins }),
    rulesRoutes(live),
    deliveryRoutes({ delivery, sources, plugins }),
    openapiRoutes,
  ];
  const onPrediction = createPredictionCapture({
    wants: (model) => delivery.wants(model),
    publish: (p) => delivery.publish(p),
    log,
  });
  /** Only models some delivery rule wants are worth buffering on the hot path. */
  const wantsPrediction = (path: string): boolean => {
    const call = parseInferencePath(path);
    return call !== undefined && delivery.wants(call.model);
  };
  return {
    live,
    plugins,
    delivery,
    sources,
    routes,
    onPrediction,
    wantsPrediction,
    async start() {
      if (plugins && config.PLUGINS_DIR) {
        const r = await plugins.loadDir(config.PLUGINS_DIR);
        log.info(r, 'plugins loaded');
      }
      // Watchers first, then the subscriber: the first read hands each its current version.
      await delivery.start();
      await sources.start();
      await live.start();
    },
    async close() {
      await sources.close();
      await delivery.close();
      await live.close();
    },
  };
}

export type Comm = ReturnType<typeof buildComm>;
