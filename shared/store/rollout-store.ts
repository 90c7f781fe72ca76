/**
 * A model's rollout state and version labels in Redis (shared/protocol/rollout.ts). The
 * state is rewritten only by compare-and-set on its `revision`, so the listener, the gateway
 * (operator commands) and a restarted copy of either never overwrite each other's step; each
 * write announces `{type: 'rollout', model}` on the serving channel in the same script, so
 * serving replicas re-read at once and no write goes unannounced.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { defineScript, withRetry } from './lua.js';
import { RolloutState } from '../protocol/rollout.js';
import type { ServingControl } from '../protocol/serving-views.js';

/**
 * KEYS: rollout. ARGV: expected revision (-1: no state yet), new JSON, channel, message.
 * Returns 1 written, 0 the stored revision differs.
 */
const casRollout = defineScript(`
local cur = redis.call('GET', KEYS[1])
local expected = tonumber(ARGV[1])
if cur == false then
  if expected ~= -1 then return 0 end
else
  local ok, doc = pcall(cjson.decode, cur)
  local rev = -2
  if ok and type(doc) == 'table' and type(doc.revision) == 'number' then rev = doc.revision end
  if rev ~= expected then return 0 end
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`);

/** KEYS: labels. ARGV: channel, message, label, generation ('' deletes). Returns 1 changed. */
const setLabel = defineScript(`
local changed
if ARGV[4] == '' then changed = redis.call('HDEL', KEYS[1], ARGV[3])
else redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]); changed = 1 end
if changed == 1 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return changed
`);

const announce = (model: string) =>
  JSON.stringify({ type: 'rollout', model } satisfies ServingControl);

/** The model's rollout state, or null when it never had one. Throws on a malformed record. */
export async function readRollout(
  redis: Redis,
  keys: Keys,
  model: string,
): Promise<RolloutState | null> {
  const text = await redis.get(keys.modelRollout(model));
  return text === null ? null : RolloutState.parse(JSON.parse(text));
}

/**
 * Writes `next` (or deletes the state when null) only if the stored revision is still
 * `expected` (null: no state stored). The written state's revision is `expected + 1`,
 * whatever `next.revision` says. Returns the stored state, or 'conflict'.
 */
export async function writeRollout(
  redis: Redis,
  keys: Keys,
  model: string,
  next: RolloutState | null,
  expected: number | null,
): Promise<RolloutState | null | 'conflict'> {
  const stored = next === null ? null : { ...next, model, revision: (expected ?? -1) + 1 };
  const done = await casRollout(
    redis,
    [keys.modelRollout(model)],
    [
      expected ?? -1,
      stored === null ? '' : JSON.stringify(RolloutState.parse(stored)),
      keys.servingChannel(),
      announce(model),
    ],
  );
  return done === 1 ? stored : 'conflict';
}

/**
 * Read-modify-write of the state: `fn` sees the current state (null when none) and returns
 * the next one, null to delete it, or 'keep' to change nothing. Retried on a concurrent
 * write, so `fn` must be free of side effects. Returns the state stored after it.
 */
export async function updateRollout(
  redis: Redis,
  keys: Keys,
  model: string,
  fn: (cur: RolloutState | null) => RolloutState | null | 'keep',
): Promise<RolloutState | null> {
  return withRetry(async () => {
    const cur = await readRollout(redis, keys, model);
    const next = fn(cur);
    if (next === 'keep') return cur;
    const r = await writeRollout(redis, keys, model, next, cur?.revision ?? null);
    return r === 'conflict' ? 'retry' : r;
  }, `rollout of ${model}`);
}

/** The model's version labels: label → generation. */
export async function readLabels(
  redis: Redis,
  keys: Keys,
  model: string,
): Promise<Record<string, number>> {
  const raw = await redis.hgetall(keys.modelLabels(model));
  const out: Record<string, number> = {};
  for (const [label, gen] of Object.entries(raw)) {
    const n = Number(gen);
    if (Number.isInteger(n) && n >= 1) out[label] = n;
  }
  return out;
}

/**
 * Points `label` at `gen` (null removes it) and announces the change to serving. Checking
 * that the generation may carry a label is the caller's job. Returns whether anything changed.
 */
export async function writeLabel(
  redis: Redis,
  keys: Keys,
  model: string,
  label: string,
  gen: number | null,
): Promise<boolean> {
  const r = await setLabel(
    redis,
    [keys.modelLabels(model)],
    [keys.servingChannel(), announce(model), label, gen === null ? '' : String(gen)],
  );
  return r === 1;
}

/**
 * KEYS: prediction records. Marks each one labelled (keeping its TTL) and answers it as it
 * was; '' for a missing record, '!' for one labelled already. The mark is appended to the
 * JSON text, so the record round-trips without re-encoding.
 */
const claim = defineScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then out[i] = ''
  elseif string.find(v, '"labelled":true', 1, true) then out[i] = '!'
  else
    redis.call('SET', k, string.sub(v, 1, -2) .. ',"labelled":true}', 'KEEPTTL')
    out[i] = v
  end
end
return out
`);

/**
 * Claims prediction records for ground truth, once each: per id, 'claimed' the first time,
 * 'duplicate' after, 'unknown' when no record exists (never answered or expired).
 */
export async function claimPredictions(
  redis: Redis,
  keys: Keys,
  ids: string[],
): Promise<('claimed' | 'duplicate' | 'unknown')[]> {
  if (ids.length === 0) return [];
  const r = (await claim(
    redis,
    ids.map((id) => keys.prediction(id)),
  )) as string[];
  return r.map((v) => (v === '' ? 'unknown' : v === '!' ? 'duplicate' : 'claimed'));
}
