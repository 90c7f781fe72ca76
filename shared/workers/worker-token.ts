import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A session's worker token: `smw_<sessionId>.<hmac>`, derived from the internal token so
 * the event handler and the gateway can verify it without storing anything. It lets a
 * worker read its dataset, post its own session's events and upload its generation.
 */
export function workerToken(sessionId: string, secret: string): string {
  return `smw_${sessionId}.${sign(sessionId, secret)}`;
}

/** The session id a worker token belongs to, or undefined when it is not valid. */
export function verifyWorkerToken(token: string, secret: string): string | undefined {
  const m = /^smw_([A-Za-z0-9-]{1,100})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return undefined;
  const [, sessionId = '', mac = ''] = m;
  const expected = Buffer.from(sign(sessionId, secret));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given)
    ? sessionId
    : undefined;
}

function sign(sessionId: string, secret: string): string {
  return createHmac('sha256', secret).update(`worker:${sessionId}`).digest('base64url');
}
