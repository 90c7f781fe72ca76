import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Tokens derived from the internal token, so that the event handler and the gateway can verify
 * them without storing anything. Each kind signs its own prefix (`worker:`, `spare:`): one kind
 * never passes as the other, whatever the id.
 */
type Kind = 'worker' | 'spare';
const TAG: Record<Kind, string> = { worker: 'smw', spare: 'sms' };

function sign(kind: Kind, id: string, secret: string): string {
  return createHmac('sha256', secret).update(`${kind}:${id}`).digest('base64url');
}

function mint(kind: Kind, id: string, secret: string): string {
  return `${TAG[kind]}_${id}.${sign(kind, id, secret)}`;
}

function verify(kind: Kind, token: string, secret: string): string | undefined {
  const m = /^(sm[ws])_([A-Za-z0-9-]{1,100})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m || m[1] !== TAG[kind]) return undefined;
  const [, , id = '', mac = ''] = m;
  const expected = Buffer.from(sign(kind, id, secret));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
}

/**
 * A session's worker token: `smw_<sessionId>.<hmac>`. It lets a worker read its dataset, post
 * its own session's events and upload its generation.
 */
export function workerToken(sessionId: string, secret: string): string {
  return mint('worker', sessionId, secret);
}

/** The session id a worker token belongs to, or undefined when it is not valid. */
export function verifyWorkerToken(token: string, secret: string): string | undefined {
  return verify('worker', token, secret);
}

/**
 * A warm spare container's token: `sms_<spareId>.<hmac>` (swarm mode). It only lets the spare
 * wait for the session it will be handed.
 */
export function spareToken(spareId: string, secret: string): string {
  return mint('spare', spareId, secret);
}

/** The spare id a spare token belongs to, or undefined when it is not valid. */
export function verifySpareToken(token: string, secret: string): string | undefined {
  return verify('spare', token, secret);
}
