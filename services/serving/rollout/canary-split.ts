/**
 * The sticky canary split: a request key hashes to a bucket 0..99 and buckets below the
 * canary percentage go to the challenger. The bucket depends only on the key, the model and
 * the challenger, so one client sees one generation for a whole rollout, stays on the
 * challenger as its share steps up, and different rollouts pick different clients.
 */
import type { IncomingMessage } from 'node:http';
import { CLIENT_KEY_HEADER, REQUEST_KEY_HEADER } from '../../../shared/index.js';

/** FNV-1a (32 bit) of the string's UTF-16 units: stable across processes and restarts. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The key's bucket (0..99) in this model's rollout of `challenger`. */
export function bucketOf(key: string, model: string, challenger: number): number {
  return fnv1a(`${model}\u0000${challenger}\u0000${key}`) % 100;
}

/** The request's key: the client's `x-request-key`, else the caller the gateway named. */
export function requestKey(req: IncomingMessage): string | undefined {
  const h = req.headers[REQUEST_KEY_HEADER] ?? req.headers[CLIENT_KEY_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Whether this request goes to the challenger. Without a key it is a fair coin weighted by
 * the percentage (nothing to be sticky to).
 */
export function toChallenger(
  key: string | undefined,
  model: string,
  challenger: number,
  percent: number,
): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  const bucket = key === undefined ? Math.random() * 100 : bucketOf(key, model, challenger);
  return bucket < percent;
}
