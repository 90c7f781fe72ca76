import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  Keys,
  aclFile,
  redisPassword,
  redisUrlFor,
  type RedisServerOptions,
  type RedisUser,
} from '../../shared/index.js';

/** Local mode's Redis secret: every Redis user's password is derived from it (shared/store/acl.ts). */
export function redisSecretFile(home: string): string {
  return join(home, 'redis.secret');
}

/**
 * SWARMML_HOME holds the admin token, the Redis secret and the AOF (every token hash, dataset
 * and model): the directory and those files are its owner's alone (0700 / 0600), also when
 * an older version or a umask made them wider.
 */
export function securePrivateFiles(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  for (const f of ['admin.token', 'redis.secret']) {
    const p = join(home, f);
    if (existsSync(p) && (statSync(p).mode & 0o077) !== 0) chmodSync(p, 0o600);
  }
}

/** Reads the Redis secret, generating it on first start (mode 0600) and reusing it after. */
export function ensureRedisSecret(home: string): string {
  securePrivateFiles(home);
  const file = redisSecretFile(home);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/**
 * Redis with authentication, as local mode runs it: the ACL users of shared/store/acl.ts
 * (`default` off), the server's own probe logged in as `admin`, and each process's URL with
 * its own user.
 */
export function localRedisAuth(
  home: string,
  prefix = 'swarmml',
): {
  server: Pick<RedisServerOptions, 'acl' | 'login'>;
  urlFor: (base: string, user: RedisUser) => string;
} {
  const secret = ensureRedisSecret(home);
  return {
    server: {
      acl: aclFile(secret, new Keys(prefix)),
      login: { user: 'admin', password: redisPassword(secret, 'admin') },
    },
    urlFor: (base, user) => redisUrlFor(base, secret, user),
  };
}
