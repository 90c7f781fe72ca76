import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Variables every service reads. Each service extends this schema in its own config.ts. */
export const baseEnv = z.object({
  /** The Redis server: redis://[user:password@]host:port (its own ACL user per service: docs/security.md) */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** pino level */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** A file holding the Redis password (a Docker secret); merged into REDIS_URL at parse time. */
  REDIS_PASSWORD_FILE: z.string().optional(),
  /** Key prefix for every Redis key and queue; lets tests and several installs share a server. */
  SWARMML_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]*$/)
    .default('swarmml'),
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once against a schema, reporting every bad variable at once,
 * and returns a frozen object. The only sanctioned reader of process.env is a config.ts.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  // Empty strings mean "unset" so that `FOO= cmd` falls back to the default.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return Object.freeze(withRedisPassword(result.data));
}

/** Puts the password from REDIS_PASSWORD_FILE into REDIS_URL, so clients need one URL only. */
function withRedisPassword<T>(data: T): T {
  const d = data as { REDIS_URL?: string; REDIS_PASSWORD_FILE?: string };
  if (!d.REDIS_PASSWORD_FILE || !d.REDIS_URL) return data;
  let password: string;
  try {
    password = readFileSync(d.REDIS_PASSWORD_FILE, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([
      `REDIS_PASSWORD_FILE: cannot read ${d.REDIS_PASSWORD_FILE}: ${(err as Error).message}`,
    ]);
  }
  const url = new URL(d.REDIS_URL);
  url.password = encodeURIComponent(password);
  return { ...data, REDIS_URL: url.toString() };
}

/** Booleans from env: "1", "true", "yes" are true; "0", "false", "no" false. */
export const envBool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

/**
 * The services' shared secret: INTERNAL_TOKEN, else the file INTERNAL_TOKEN_FILE names (a
 * Docker secret), else ADMIN_TOKEN_FILE (local mode, where the admin token serves as both).
 */
export function readInternalToken(c: {
  INTERNAL_TOKEN?: string | undefined;
  INTERNAL_TOKEN_FILE?: string | undefined;
  ADMIN_TOKEN_FILE?: string | undefined;
}): string {
  if (c.INTERNAL_TOKEN) return c.INTERNAL_TOKEN;
  const [name, file] = c.INTERNAL_TOKEN_FILE
    ? ['INTERNAL_TOKEN_FILE', c.INTERNAL_TOKEN_FILE]
    : ['ADMIN_TOKEN_FILE', c.ADMIN_TOKEN_FILE];
  if (!file) {
    throw new ConfigError([
      'INTERNAL_TOKEN (or INTERNAL_TOKEN_FILE / ADMIN_TOKEN_FILE) is required',
    ]);
  }
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError([`${name}: cannot read ${file}: ${(err as Error).message}`]);
  }
  if (!token) throw new ConfigError([`${name}: ${file} is empty`]);
  return token;
}
