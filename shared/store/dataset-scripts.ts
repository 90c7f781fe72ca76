import { defineScript } from './lua.js';

/**
 * Commit of a dataset version, all or nothing. The caller read `nextVersion` (ARGV[1]) and
 * built the final key names for version ARGV[2]; if another upload committed meanwhile the
 * script answers 'retry' and the caller rebuilds the names for the next number.
 * KEYS: dataset hash, versions zset, datasets set, meta(v), holders(v),
 *       staging shard keys (n), final shard keys (n), holders(u) of referenced owners (o),
 *       referenced earlier shard keys (r)
 * ARGV: expected nextVersion, v, name, meta JSON, created, n, o, r
 */
export const commitVersionScript = defineScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'nextVersion') or '0')
if cur ~= tonumber(ARGV[1]) then return 'retry' end
local n, o, r = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
for i = 6, 5 + n do
  if redis.call('EXISTS', KEYS[i]) == 0 then return 'expired' end
end
for i = 6 + 2 * n + o, 5 + 2 * n + o + r do
  if redis.call('EXISTS', KEYS[i]) == 0 then return 'basegone' end
end
for i = 0, n - 1 do
  redis.call('RENAME', KEYS[6 + i], KEYS[6 + n + i])
  redis.call('PERSIST', KEYS[6 + n + i])
end
redis.call('HSET', KEYS[1], 'nextVersion', ARGV[2], 'latest', ARGV[2])
redis.call('HSETNX', KEYS[1], 'created', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], 'meta', ARGV[4])
if n > 0 then redis.call('SADD', KEYS[5], ARGV[2]) end
for i = 6 + 2 * n, 5 + 2 * n + o do redis.call('SADD', KEYS[i], ARGV[2]) end
return 'ok'
`);

/**
 * Deletes version v's metadata and releases its hold on every owner's shards; an owner's
 * shards go when no version holds them any more.
 * KEYS: dataset hash, versions zset, meta(v), lineage set(v), holders(u) (o), then each
 *       owner's shard keys in the same order
 * ARGV: v, o, then shard count per owner (o)
 */
export const deleteVersionScript = defineScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return 'nover' end
local v, o = ARGV[1], tonumber(ARGV[2])
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[2], v)
local k = 5 + o
for j = 0, o - 1 do
  local holders = KEYS[5 + j]
  local count = tonumber(ARGV[3 + j])
  redis.call('SREM', holders, v)
  if redis.call('SCARD', holders) == 0 then
    for i = k, k + count - 1 do redis.call('DEL', KEYS[i]) end
  end
  k = k + count
end
local top = redis.call('ZREVRANGE', KEYS[2], 0, 0)
redis.call('HSET', KEYS[1], 'latest', top[1] or '')
return 'ok'
`);
