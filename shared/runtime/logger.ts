import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths redacted from every log line: tokens and passwords never reach the logs. */
const REDACT = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  'REDIS_URL',
  '*.REDIS_URL',
];

export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({ name: service, level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** Hides the password part of a URL before it is logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
