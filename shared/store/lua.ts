import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type ScriptArg = string | number | Buffer;
export type RunScript = (redis: Redis, keys: string[], args?: ScriptArg[]) => Promise<unknown>;

/**
 * A Lua script run by EVALSHA, falling back to EVAL once per server (after a restart or
 * SCRIPT FLUSH the cache is empty). Every key a script touches is passed in KEYS.
 */
export function defineScript(source: string): RunScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args = []) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}

/**
 * Compare-and-set on hash fields: sets ARGV pairs only if each compared field still holds
 * the value read before (empty string = field absent). Returns 1 done, 0 changed meanwhile,
 * -1 no such hash. Lets read-modify-write of JSON fields stay atomic without WATCH, which
 * is unsafe on a client shared by concurrent callers.
 * ARGV: ncompare, (field, expected)*ncompare, (field, value)*
 */
export const hashCompareAndSet = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local cur = redis.call('HGET', KEYS[1], ARGV[2 + 2 * i])
  if cur == false then cur = '' end
  if cur ~= ARGV[3 + 2 * i] then return 0 end
end
local start = 2 + 2 * n
if #ARGV >= start then
  redis.call('HSET', KEYS[1], unpack(ARGV, start))
end
return 1
`);

/** Retries an optimistic operation that answers 'retry' when state moved under it. */
export async function withRetry<T>(attempt: () => Promise<T | 'retry'>, what: string): Promise<T> {
  // Each retry follows another client's successful change, so under N contenders this
  // ends within N rounds; the cap only guards against a bug looping forever.
  for (let i = 0; i < 1000; i++) {
    const r = await attempt();
    if (r !== 'retry') return r;
  }
  throw new Error(`${what}: state kept changing, gave up after 1000 attempts`);
}
