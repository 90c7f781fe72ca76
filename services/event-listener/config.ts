import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, baseEnv, parseEnv } from '../../shared/index.js';

const schema = baseEnv.extend({
  /** The health server (`GET /healthz`); port 0 picks a free one. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  HOST: z.string().default('127.0.0.1'),
  /** The event-handler, whose internal WebSocket (`/ws`) takes the decisions. */
  EVENT_HANDLER_URL: z.string().url().default('http://127.0.0.1:8083'),
  /** Shared secret of the services, or a file holding it (Docker secret). */
  INTERNAL_TOKEN: z.string().min(16).optional(),
  INTERNAL_TOKEN_FILE: z.string().optional(),
  /** How often running sessions are checked against their time budget (ms). */
  BUDGET_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Where a listener with no stored cursor starts: new events only, or the whole archive. */
  START_FROM: z.enum(['latest', 'beginning']).default('latest'),
  /** How often running rollouts are visited (ms); each reads its gates every stepIntervalS. */
  ROLLOUT_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});

export type ListenerConfig = Readonly<z.infer<typeof schema> & { internalToken: string }>;

export function loadConfig(env: Record<string, string | undefined>): ListenerConfig {
  const c = parseEnv(schema, env);
  const internalToken =
    c.INTERNAL_TOKEN ??
    (c.INTERNAL_TOKEN_FILE ? readFileSync(c.INTERNAL_TOKEN_FILE, 'utf8').trim() : undefined);
  if (!internalToken) {
    throw new ConfigError(['INTERNAL_TOKEN (or INTERNAL_TOKEN_FILE) is required']);
  }
  return Object.freeze({ ...c, internalToken });
}
