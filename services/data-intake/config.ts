import { tmpdir } from 'node:os';
import { z } from 'zod';
import { baseEnv, parseEnv, readInternalToken } from '../../shared/index.js';

const schema = baseEnv.extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  HOST: z.string().default('127.0.0.1'),
  /** Largest upload accepted, in bytes (the gateway enforces its own limit first). */
  UPLOAD_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  /** Where parsers spill the first pass of large uploads. @defaultValue os.tmpdir() */
  TMP_DIR: z.string().optional(),
  /** Parsed bytes an upload may hold in memory before spilling to TMP_DIR; an upload declaring a
   * Content-Length of at least this spills from the start (it would spill anyway). */
  PARSE_MEMORY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 ** 2),
  /** Target feature bytes per stored shard: the unit of every read. */
  SHARD_BYTES: z.coerce
    .number()
    .int()
    .min(4096)
    .default(1024 ** 2),
  /** Shared secret of the services; in local mode the admin token (ADMIN_TOKEN_FILE). */
  INTERNAL_TOKEN: z.string().min(16).optional(),
  INTERNAL_TOKEN_FILE: z.string().optional(),
  ADMIN_TOKEN_FILE: z.string().optional(),
});

export type IntakeConfig = Readonly<
  z.infer<typeof schema> & { internalToken: string; tmpDir: string }
>;

export function loadConfig(env: Record<string, string | undefined>): IntakeConfig {
  const c = parseEnv(schema, env);
  const internalToken = readInternalToken(c);
  return Object.freeze({ ...c, internalToken, tmpDir: c.TMP_DIR ?? tmpdir() });
}
