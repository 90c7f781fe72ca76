#!/usr/bin/env node
// Writes the swarm stack's Redis ACL secrets from the one ACL module (shared/store/acl.ts, built
// into dist/), as local mode does at each start:
//   <secrets>/redis_acl         the ACL file redis-server loads (`default` off, one user a service)
//   <secrets>/redis_pw_<user>   each user's password, derived from <secrets>/redis_password
// All files 0600. Prints the ACL file's sha256 (12 hex), which names its Docker secret: a swarm
// secret cannot change, so changed rules make a new secret and roll Redis onto it.
//   node scripts/redis-acl.mjs <secrets-dir> [prefix]
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, prefix = 'swarmml'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/redis-acl.mjs <secrets-dir> [prefix]');
  process.exit(2);
}
const { Keys, REDIS_USERS, aclFile, redisPassword } = await import(
  new URL('../dist/shared/store/index.js', import.meta.url).href
);
const secret = readFileSync(join(dir, 'redis_password'), 'utf8').trim();
if (secret.length < 32) {
  console.error(`${dir}/redis_password must hold at least 32 characters`);
  process.exit(1);
}
const write = (name, text) => {
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
};
const acl = aclFile(secret, new Keys(prefix));
write('redis_acl', acl);
// Docker secret names allow [a-zA-Z0-9-_.]: batch-infer's file keeps its hyphen.
for (const user of REDIS_USERS) write(`redis_pw_${user}`, redisPassword(secret, user));
process.stdout.write(createHash('sha256').update(acl).digest('hex').slice(0, 12) + '\n');
