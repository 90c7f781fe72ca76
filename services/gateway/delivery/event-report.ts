import type { EventLog, Logger, GatewayEvent, Report } from '../../../shared/index.js';

/**
 * Archives what the delivery, source and plugin modules report as events of the same kind
 * (`config.changed`, `delivery.dead`, `source.appended`, ...). Fire and forget: the caller
 * is a hot path or a watcher, and a lost archive write is logged, not retried.
 */
export function archiveReport(events: EventLog, log: Logger): Report {
  return (e: GatewayEvent) => {
    const { type, ...payload } = e;
    const level = type.endsWith('.failed') || type === 'delivery.dead' ? 'warn' : 'debug';
    log[level]({ event: type, ...payload }, type);
    events.append({ kind: type, payload }).catch((err: unknown) => {
      log.warn({ err: String(err), event: type }, 'event not archived');
    });
  };
}
