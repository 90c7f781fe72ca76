/**
 * Errors that mean a dependency is down or restarting rather than a bug: the error mapper
 * answers them 503 with Retry-After, so a client retries instead of reporting a 500.
 */

/** Socket errors of a connection to a dependency that is gone or not there yet. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** What ioredis (and so BullMQ) says when Redis cannot take a command now. */
const REDIS_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Stream isn't writeable and enableOfflineQueue options is false/,
  /^Reached the max retries per request limit/,
  // Replies of a Redis that restarts: replaying its AOF, or without its replica set up.
  /^LOADING /,
  /^MASTERDOWN /,
  /^TRYAGAIN /,
];

/** How long a client should wait before retrying, in s: a supervised Redis is back in about 1 s. */
export const DEPENDENCY_RETRY_AFTER_S = 1;

/**
 * Why `err` means a dependency is down (a short phrase for the 503's message), or undefined
 * when it is some other error. Looks through `cause` (fetch's "fetch failed" wraps the socket
 * error) a few levels deep.
 */
export function dependencyDown(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const { name, message, code } = e as { name?: unknown; message?: unknown; code?: unknown };
    if (name === 'MaxRetriesPerRequestError') return 'Redis is not reachable';
    if (typeof message === 'string' && REDIS_MESSAGES.some((re) => re.test(message))) {
      return message.startsWith('LOADING') ? 'Redis is loading its data' : 'Redis is not reachable';
    }
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
      return `a service is not reachable (${code})`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
