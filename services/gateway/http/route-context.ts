import type { RequestHandler, Router } from 'express';
import type { Redis } from 'ioredis';
import type { Keys, Logger, Permission } from '../../../shared/index.js';
import type { GatewayConfig } from '../config.js';
import type { TokenStore } from '../auth/token-store.js';
import type { Authenticator } from './authenticate.js';

/** What every route module gets. Route modules are `(router, ctx) => void`. */
export interface RouteContext {
  config: GatewayConfig;
  log: Logger;
  redis: Redis;
  keys: Keys;
  tokens: TokenStore;
  auth: Authenticator;
  /** Middleware that checks the token has `perm`; puts TokenInfo in res.locals.auth. */
  guard(perm: Permission): RequestHandler;
}

export type RouteModule = (router: Router, ctx: RouteContext) => void;
