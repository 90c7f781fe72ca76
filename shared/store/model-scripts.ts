import { defineScript } from './lua.js';

// Every script here touches one model's keys (one `{name}` hash-tag slot) plus, where
// noted, the global index sets and a dataset's lineage set; all of them are passed in KEYS.

/**
 * KEYS: model, models set, models-by-type set. ARGV: type, description, created, name.
 * Returns the model's type (the existing one if it was there already).
 */
export const ensureModelScript = defineScript(`
local t = redis.call('HGET', KEYS[1], 'type')
if t == false then
  redis.call('HSET', KEYS[1], 'type', ARGV[1], 'description', ARGV[2], 'production', '',
    'created', ARGV[3], 'nextGen', 0)
  t = ARGV[1]
end
if t == ARGV[1] then
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[4])
end
return t
`);

/**
 * The commit step of addGeneration: all chunks must still be there; they lose their TTL and
 * the generation hash appears in the same atomic step, so no reader ever sees a generation
 * without its weights. A generation given no `parent` field gets the production generation
 * of this moment, the one it will be compared with.
 * KEYS: model, gens zset, gen hash, lineage set (or gen hash when none), chunk keys...
 * ARGV: gen, lineage member or '', channel, event JSON, field/value pairs...
 * Returns {outcome, parent or ''}.
 */
export const commitGenerationScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'nomodel', ''} end
for i = 5, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return {'missing', ''} end
end
for i = 5, #KEYS do redis.call('PERSIST', KEYS[i]) end
local parent = ''
for i = 5, #ARGV, 2 do
  if ARGV[i] == 'parent' then parent = ARGV[i + 1] end
end
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
if parent == '' then
  parent = redis.call('HGET', KEYS[1], 'production') or ''
  if parent ~= '' then redis.call('HSET', KEYS[3], 'parent', parent) end
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('SADD', KEYS[4], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'ok', parent}
`);

/**
 * Optimistic promotion: the caller read the current production (ARGV[2], '' for none) and
 * passes its hash as KEYS[3]; if another promotion won meanwhile the script answers
 * 'retry' and changes nothing.
 * KEYS: model, target gen hash, previous production gen hash (target again when none).
 * ARGV: gen, expected production, force '1'|'0', channel, model name, time.
 * Returns {outcome, previous}.
 */
export const promoteScript = defineScript(`
local cur = redis.call('HGET', KEYS[1], 'production')
if cur == false then return {'nomodel', ''} end
if cur ~= ARGV[2] then return {'retry', cur} end
local st = redis.call('HGET', KEYS[2], 'status')
if st == false then return {'nogen', cur} end
if cur == ARGV[1] then return {'same', cur} end
if st == 'rejected' and ARGV[3] ~= '1' then return {'rejected', cur} end
redis.call('HSET', KEYS[2], 'status', 'production', 'promoted', ARGV[6])
redis.call('HSET', KEYS[1], 'production', ARGV[1])
if cur ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'status', 'archived')
  redis.call('PUBLISH', ARGV[4], cjson.encode({model = ARGV[5], gen = tonumber(cur), status = 'archived'}))
end
redis.call('PUBLISH', ARGV[4], cjson.encode({model = ARGV[5], gen = tonumber(ARGV[1]), status = 'production'}))
return {'ok', cur}
`);

/**
 * reject/archive. Rejecting production is refused; archiving production leaves the model
 * with no production generation (serving unloads it).
 * KEYS: model, gen hash. ARGV: gen, status, reason or '', channel, model name.
 */
export const setStatusScript = defineScript(`
local st = redis.call('HGET', KEYS[2], 'status')
if st == false then return 'nogen' end
if st == 'production' then
  if ARGV[2] ~= 'archived' then return 'production' end
  redis.call('HSET', KEYS[1], 'production', '')
end
redis.call('HSET', KEYS[2], 'status', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'reason', ARGV[3]) end
redis.call('PUBLISH', ARGV[4], cjson.encode({model = ARGV[5], gen = tonumber(ARGV[1]), status = ARGV[2]}))
return 'ok'
`);

/**
 * KEYS: gens zset, gen hash, lineage set (or gen hash when none), chunk keys...
 * ARGV: gen, lineage member or ''.
 */
export const deleteGenerationScript = defineScript(`
local st = redis.call('HGET', KEYS[2], 'status')
if st == false then return 'nogen' end
if st == 'production' then return 'production' end
redis.call('DEL', KEYS[2])
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('SREM', KEYS[3], ARGV[2]) end
return 'ok'
`);

/**
 * KEYS: model, gens zset, models set, models-by-type set, then ARGV[4] keys to delete, then
 * lineage sets (one per ARGV member after the first 5 ARGV).
 * ARGV: force, name, expected generation count, ndelete, channel, lineage members...
 * 'retry' when a generation was added since the caller listed them.
 */
export const deleteModelScript = defineScript(`
local prod = redis.call('HGET', KEYS[1], 'production')
if prod == false then return 'nomodel' end
if prod ~= '' and ARGV[1] ~= '1' then return 'production' end
if redis.call('ZCARD', KEYS[2]) ~= tonumber(ARGV[3]) then return 'retry' end
local n = tonumber(ARGV[4])
for i = 5, 4 + n do redis.call('DEL', KEYS[i]) end
for i = 6, #ARGV do redis.call('SREM', KEYS[4 + n + i - 5], ARGV[i]) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
if prod ~= '' then
  redis.call('PUBLISH', ARGV[5], cjson.encode({model = ARGV[2], gen = tonumber(prod), status = 'deleted'}))
end
return 'ok'
`);
