/** Builds the traffic side of rollouts for one serving app (app.ts wires it). */
import type { Redis } from 'ioredis';
import type { Keys, Logger } from '../../../shared/index.js';
import type { ServingConfig } from '../config.js';
import type { ModelFleet } from '../hosting/model-fleet.js';
import type { ModelSource } from '../hosting/model-source.js';
import type { Registry } from 'prom-client';
import { resolveLabelPath } from './label-paths.js';
import { registerOnlineMetrics } from './online-metrics.js';
import { OnlineRecorder } from './online-recorder.js';
import { RolloutViews } from './rollout-views.js';
import { ShadowMirror } from './shadow-mirror.js';
import { Traffic } from './traffic.js';

export interface TrafficSetup {
  traffic: Traffic;
  views: RolloutViews | undefined;
  recorder: OnlineRecorder | undefined;
  mirror: ShadowMirror | undefined;
  /** a label route's path as the generation's version route */
  routePath(path: string): string;
  /** after the fleet started: reads every served model's rollout */
  start(): Promise<void>;
  /** before the fleet closes: sheds shadows and writes what is buffered */
  close(): Promise<void>;
}

export function setupTraffic(deps: {
  config: Pick<
    ServingConfig,
    'ONLINE_FLUSH_MS' | 'PREDICTION_TTL_S' | 'ROLLOUT_REFRESH_MS' | 'SHADOW_CONCURRENCY'
  >;
  log: Logger;
  source: ModelSource;
  fleet: ModelFleet;
  /** without it, answers get ids but nothing is split, mirrored or recorded */
  store?: { redis: Redis; keys: Keys };
  /** where the online figures are reported (/metrics) */
  registry?: Registry;
}): TrafficSetup {
  const { config, log, fleet, store } = deps;
  const production = (m: string) => fleet.host(m)?.gen;
  if (!store) {
    const traffic = new Traffic({ log, production });
    return {
      traffic,
      views: undefined,
      recorder: undefined,
      mirror: undefined,
      routePath: (p) => p,
      start: async () => {},
      close: async () => {},
    };
  }
  const recorder = new OnlineRecorder({
    ...store,
    log,
    flushMs: config.ONLINE_FLUSH_MS,
    predictionTtlS: config.PREDICTION_TTL_S,
  });
  const mirror = new ShadowMirror({
    recorder,
    log,
    concurrency: config.SHADOW_CONCURRENCY,
    run: async (model, gen, inputs) => {
      const host = fleet.host(model);
      if (!host) throw new Error(`model "${model}" is no longer served here`);
      return (await host.infer(inputs, gen)).outputs;
    },
  });
  const views = new RolloutViews({
    ...store,
    log,
    source: deps.source,
    models: () => fleet.hostsInfo().map((h) => h.name),
    host: (m) => fleet.host(m),
    refreshMs: config.ROLLOUT_REFRESH_MS,
  });
  const traffic = new Traffic({ log, production, views, recorder, mirror });
  if (deps.registry) {
    registerOnlineMetrics(deps.registry, {
      ...store,
      log,
      live: () =>
        fleet.hostsInfo().map(({ name, gen }) => {
          const v = views.view(name);
          const a = v.active;
          const gens = [gen, a?.challenger, ...(a?.shadows ?? []), ...Object.values(v.labels)];
          return { model: name, gens: [...new Set(gens)].filter((g): g is number => !!g) };
        }),
    });
  }
  return {
    traffic,
    views,
    recorder,
    mirror,
    routePath: (p) =>
      resolveLabelPath(
        p,
        (m, l) => traffic.label(m, l),
        (m) => Object.keys(views.view(m).labels).sort(),
      ),
    start: () => views.start(),
    async close() {
      views.close();
      await mirror.close();
      await recorder.close();
    },
  };
}
