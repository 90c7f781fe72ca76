import { z } from 'zod';

/** Token roles, smallest to largest power. */
export const Role = z.enum(['viewer', 'client', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;

/**
 * What a route needs. `read`: any role; `predict`: client and up; `write`: datasets, models,
 * sessions (operator and up); `admin`: tokens, rules, live config, manual promotion.
 */
export type Permission = 'read' | 'predict' | 'write' | 'admin';

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(['read']),
  client: new Set(['read', 'predict']),
  operator: new Set(['read', 'predict', 'write']),
  admin: new Set(['read', 'predict', 'write', 'admin']),
};

export function roleAllows(role: Role, need: Permission): boolean {
  return GRANTS[role].has(need);
}
