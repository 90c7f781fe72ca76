import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAppendfsync, type AppendfsyncPolicy } from '../../shared/index.js';

/** Local mode's conventions (README and docs/local-mode.md): one place computes them. */
export interface LocalSettings {
  home: string;
  port: number;
  servingPort: number;
  /** serving's direct port: clients predict there with API tokens, without the gateway's hop */
  servingDirectPort: number;
  intakePort: number;
  eventHandlerPort: number;
  /** the gateway's gRPC port */
  grpcPort: number;
  /** the event listener's health server (its only port) */
  listenerPort: number;
  redisPort: number;
  tokenFile: string;
  /** the key prefix the services use (SWARMML_PREFIX), which the Redis ACL users are limited to */
  prefix: string;
  demo: boolean;
  /** Redis's AOF fsync policy (REDIS_APPENDFSYNC), docs/operations.md @defaultValue 'everysec' */
  redisAppendfsync: AppendfsyncPolicy;
  /** how long `up` waits for the gateway to be ready (SWARMML_START_TIMEOUT_S) @defaultValue 60 */
  startTimeoutS: number;
}

/**
 * The checkout this CLI runs from (the folder of its package.json, above dist/ when built):
 * local mode's home defaults to its `.swarmml`, so a linked `swarmml` finds the admin token
 * from any directory, as `npm start` in the checkout keeps it.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function localSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const home = resolve(env.SWARMML_HOME || join(packageRoot(), '.swarmml'));
  const port = Number(env.SWARMML_PORT || 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65_526) {
    throw new Error(`SWARMML_PORT must be a port number, got ${env.SWARMML_PORT}`);
  }
  const startTimeoutS = Number(env.SWARMML_START_TIMEOUT_S || 60);
  if (!Number.isFinite(startTimeoutS) || startTimeoutS <= 0) {
    throw new Error(
      `SWARMML_START_TIMEOUT_S must be a number of seconds over 0, got ${env.SWARMML_START_TIMEOUT_S}`,
    );
  }
  return {
    home,
    port,
    servingPort: port + 1,
    intakePort: port + 2,
    eventHandlerPort: port + 3,
    grpcPort: port + 4,
    listenerPort: port + 5,
    servingDirectPort: port + 6,
    redisPort: Number(env.SWARMML_REDIS_PORT || port + 9),
    tokenFile: join(home, 'admin.token'),
    prefix: env.SWARMML_PREFIX || 'swarmml',
    demo: !['0', 'false', 'no'].includes(env.SWARMML_DEMO ?? ''),
    redisAppendfsync: parseAppendfsync(env.REDIS_APPENDFSYNC),
    startTimeoutS,
  };
}

/** Reads the admin token, generating it on first start (mode 0600). */
export function ensureAdminToken(s: LocalSettings): { token: string; created: boolean } {
  mkdirSync(s.home, { recursive: true });
  if (existsSync(s.tokenFile))
    return { token: readFileSync(s.tokenFile, 'utf8').trim(), created: false };
  const token = `sma_${randomBytes(24).toString('base64url')}`;
  writeFileSync(s.tokenFile, token + '\n', { mode: 0o600 });
  return { token, created: true };
}
