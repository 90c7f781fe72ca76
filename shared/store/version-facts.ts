/** Reading what a model's version verdict needs (shared/protocol/version-policy.ts). */
import type { Redis } from 'ioredis';
import type { Logger } from '../runtime/logger.js';
import {
  DEFAULT_VERSION_POLICY,
  VersionPolicy,
  type VersionFacts,
} from '../protocol/version-policy.js';
import type { Keys } from './keys.js';
import type { ModelRegistry } from './model-registry.js';
import { readLabels, readRollout } from './rollout-store.js';

/** One model's facts, read in one go. A malformed policy or rollout counts as none. */
export async function readVersionFacts(
  redis: Redis,
  keys: Keys,
  registry: ModelRegistry,
  model: string,
  log?: Logger,
): Promise<VersionFacts> {
  const [gens, policyText, loaded, labels, rollout] = await Promise.all([
    registry.listGenerations(model),
    redis.get(keys.modelVersionPolicy(model)),
    redis.smembers(keys.modelLoaded(model)),
    readLabels(redis, keys, model),
    readRollout(redis, keys, model).catch((err: unknown) => {
      log?.warn({ err, model }, 'unreadable rollout state; its generations are not held open');
      return null;
    }),
  ]);
  let policy: VersionPolicy = DEFAULT_VERSION_POLICY;
  if (policyText !== null) {
    const parsed = VersionPolicy.safeParse(JSON.parse(policyText));
    if (parsed.success) policy = parsed.data;
    else log?.warn({ model, policyText }, 'malformed version policy; the default applies');
  }
  const live = rollout && (rollout.status === 'running' || rollout.status === 'paused');
  return {
    model,
    production: gens.find((g) => g.status === 'production')?.gen ?? null,
    statuses: new Map(gens.map((g) => [g.gen, g.status])),
    policy,
    loaded: new Set(loaded.map(Number).filter((n) => Number.isInteger(n) && n >= 1)),
    labelled: new Set(Object.values(labels)),
    inRollout: new Set(live ? [rollout.challenger, ...rollout.shadows] : []),
  };
}
