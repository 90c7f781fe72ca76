import { z } from 'zod';

/** Variables every service reads. Each service extends this schema in its own config.ts. */
export const baseEnv = z.object({
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
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
  return Object.freeze(result.data);
}

/** Booleans from env: "1", "true", "yes" are true; "0", "false", "no" false. */
export const envBool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');
