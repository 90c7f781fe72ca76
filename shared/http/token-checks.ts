/**
 * The checks every place that takes API tokens makes the same way (the gateway, serving's
 * direct port), so a client reads the same refusal wherever it calls.
 */
import { Forbidden, Unauthorized } from '../errors.js';
import type { TokenInfo } from '../store/token-lookup.js';
import { Role, roleAllows, type Permission } from './roles.js';

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** The smallest role that has `need`: what a 403 names, so the caller knows what to ask for. */
export function roleFor(need: Permission): Role {
  return Role.options.find((r) => roleAllows(r, need)) ?? 'admin';
}

/** Throws 403 naming the role needed when `info`'s role lacks `need`. */
export function requireRole(info: Pick<TokenInfo, 'role'>, need: Permission): void {
  if (roleAllows(info.role, need)) return;
  const needs = roleFor(need);
  throw new Forbidden(`this needs the ${needs} role; the token's role is ${info.role}`, {
    role: info.role,
    needs,
  });
}

/** Throws 401 once the token's expiry has passed. */
export function refuseExpired(info: Pick<TokenInfo, 'expires'>, now = Date.now()): void {
  if (info.expires !== undefined && Date.parse(info.expires) <= now) {
    throw new Unauthorized(`API token expired at ${info.expires}`);
  }
}
