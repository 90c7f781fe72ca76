export const SECRET_KEYS: ReadonlySet<string> = new Set(['secret', 'password', 'headers']);
export const REDACTED = '***';

/** A URL with its password masked; anything else as it is. */
export function redactUrl(s: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(s)) return s;
  try {
    const u = new URL(s);
    if (!u.password) return s;
    u.password = REDACTED;
    return u.toString();
  } catch {
    return s;
  }
}

/**
 * A copy of a configuration document with what grants access elsewhere hidden: webhook
 * secrets and headers, broker passwords, and passwords inside URLs. Non-admins read this.
 */
export function redactSecrets(v: unknown): unknown {
  if (typeof v === 'string') return redactUrl(v);
  if (Array.isArray(v)) return v.map(redactSecrets);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, SECRET_KEYS.has(k) ? REDACTED : redactSecrets(x)]),
  );
}

/** Whether a URL names a password (masked or not). */
function hasUrlPassword(s: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(s)) return false;
  try {
    return new URL(s).password !== '';
  } catch {
    return false;
  }
}

/** Whether a value carries a secret, or the mask standing for one: what `redactSecrets` masks. */
export function holdsSecret(v: unknown): boolean {
  if (typeof v === 'string') return hasUrlPassword(v);
  if (Array.isArray(v)) return v.some(holdsSecret);
  if (!v || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => SECRET_KEYS.has(k) || holdsSecret(x));
}
