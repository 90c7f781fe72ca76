/**
 * Events the delivery and source modules report. The gateway wires this to the event log
 * (the archive) and the logger; tests collect them in an array. Reporting never throws back.
 */
export interface GatewayEvent {
  type:
    | 'config.changed'
    | 'delivery.dead'
    | 'delivery.replayed'
    | 'delivery.dropped'
    | 'delivery.skipped'
    | 'plugin.loaded'
    | 'plugin.failed'
    | 'source.started'
    | 'source.stopped'
    | 'source.failed'
    | 'source.appended'
    | 'source.rejected';
  [field: string]: unknown;
}

export type Report = (event: GatewayEvent) => void;

/** Wraps a reporter so a faulty sink cannot break the caller. */
export function safeReport(report: Report | undefined): Report {
  return (e) => {
    try {
      report?.(e);
    } catch {
      // the reporter is the last resort for errors; nowhere left to send its own
    }
  };
}
