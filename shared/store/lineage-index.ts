import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/** Member of `dataset:{d}:v<n>:models`: which generation was trained on that version. */
export function lineageMember(model: string, gen: number): string {
  return JSON.stringify([model, gen]);
}

/**
 * Generations whose lineage points at dataset@version. Members whose generation no longer
 * exists are skipped, so a stale index entry can never block a dataset deletion.
 */
export async function datasetReferences(
  redis: Redis,
  keys: Keys,
  dataset: string,
  version: number,
): Promise<Array<{ model: string; gen: number }>> {
  const members = await redis.smembers(keys.datasetVersionModels(dataset, version));
  const refs = members.map((m) => {
    const [model, gen] = JSON.parse(m) as [string, number];
    return { model, gen };
  });
  if (refs.length === 0) return [];
  const pipe = redis.pipeline();
  for (const r of refs) pipe.exists(keys.modelGen(r.model, r.gen));
  const exists = (await pipe.exec()) ?? [];
  return refs
    .filter((_, i) => exists[i]?.[1] === 1)
    .sort((a, b) => a.model.localeCompare(b.model) || a.gen - b.gen);
}
