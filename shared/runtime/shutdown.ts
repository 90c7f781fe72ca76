import type { Logger } from './logger.js';

export type Closer = () => unknown;

/**
 * Runs closers in order on SIGINT/SIGTERM, with a hard deadline shorter than the
 * stop_grace_period in stack.yml so the process always exits by itself.
 */
export function onShutdown(
  log: Logger,
  closers: Closer[],
  deadlineMs = 8_000,
): () => Promise<void> {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const timer = setTimeout(() => {
        log.error({ deadlineMs }, 'shutdown deadline passed; exiting');
        process.exit(1);
      }, deadlineMs);
      timer.unref();
      for (const c of closers) {
        try {
          await c();
        } catch (err) {
          log.warn({ err }, 'error during shutdown');
        }
      }
      clearTimeout(timer);
    })();
    return closing;
  };
  const handler = (signal: NodeJS.Signals | 'disconnect') => {
    log.info({ signal }, 'shutting down');
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  // Local mode's supervisor starts its services with an IPC channel: the channel closing
  // means the supervisor is gone (even by SIGKILL), and its services must not live on.
  if (process.channel) process.once('disconnect', () => handler('disconnect'));
  return close;
}
