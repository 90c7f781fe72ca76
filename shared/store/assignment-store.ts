/**
 * Which models serving replicas load: a Redis set (empty, or holding `*`, means every
 * model), changed here and announced on the serving channel so replicas follow at once.
 */
import type { Redis } from 'ioredis';
import { checkName } from './names.js';
import type { Keys } from './keys.js';
import type { ServingControl } from '../protocol/serving-views.js';

export const ALL_MODELS = '*';

export async function readAssignment(redis: Redis, keys: Keys): Promise<'*' | string[]> {
  const set = await redis.smembers(keys.servingAssignment());
  return set.length === 0 || set.includes(ALL_MODELS) ? ALL_MODELS : set.sort();
}

export async function publishControl(redis: Redis, keys: Keys, msg: ServingControl): Promise<void> {
  await redis.publish(keys.servingChannel(), JSON.stringify(msg));
}

/** Adds models to the assignment (or, with `*`, assigns every model) and tells replicas. */
export async function assignModels(
  redis: Redis,
  keys: Keys,
  models: string[],
): Promise<'*' | string[]> {
  if (models.includes(ALL_MODELS)) await redis.del(keys.servingAssignment());
  else {
    for (const m of models) checkName(m, 'model');
    if (models.length > 0) await redis.sadd(keys.servingAssignment(), ...models);
  }
  await publishControl(redis, keys, { type: 'assignment' });
  return readAssignment(redis, keys);
}

/** Removes models from the assignment; an emptied set means every model again. */
export async function unassignModels(
  redis: Redis,
  keys: Keys,
  models: string[],
): Promise<'*' | string[]> {
  if (models.length > 0) await redis.srem(keys.servingAssignment(), ...models);
  await publishControl(redis, keys, { type: 'assignment' });
  return readAssignment(redis, keys);
}

/** Whether `model` is in an assignment. */
export function isAssigned(assignment: '*' | string[], model: string): boolean {
  return assignment === ALL_MODELS || assignment.includes(model);
}
