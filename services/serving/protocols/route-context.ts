/** What the protocol routes need from the app, and the pieces they share. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFound, sendError, type Logger } from '../../../shared/index.js';
import type { ServingMetrics } from '../metrics.js';
import type { DecodeOffload } from '../decoding/decode-offload.js';
import type { ModelFleet } from '../hosting/model-fleet.js';

export interface RouteContext {
  fleet: ModelFleet;
  metrics: ServingMetrics;
  log: Logger;
  /** @defaultValue 64 MiB */
  maxBodyBytes: number;
  /** decodes KServe bodies, off the HTTP thread when they are large */
  decoder: DecodeOffload;
  /** inference requests being handled now */
  inflight: number;
}

export type Protocol = 'kserve' | 'tfserving';

/** `/versions/<v>` → generation number; generations are positive integers. */
export function parseVersion(model: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(v)) {
    throw new NotFound(
      `model "${model}" has no version "${v}"; versions are generation numbers (1, 2, ...)`,
    );
  }
  return Number(v);
}

/** Runs an inference handler with request, error and latency metrics. */
export async function observed(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
  protocol: Protocol,
  fn: () => Promise<void>,
): Promise<void> {
  const started = process.hrtime.bigint();
  // Only served names become label values, so bad requests cannot blow up cardinality.
  const label = ctx.fleet.serves(model) ? model : '(unknown)';
  ctx.metrics.requests.inc({ model: label, protocol });
  ctx.inflight++;
  try {
    await fn();
  } catch (err) {
    const status = sendError(req, res, err, ctx.log, 'protocol');
    ctx.metrics.errors.inc({ model: label, protocol, status: String(status) });
  } finally {
    ctx.inflight--;
    ctx.metrics.latency.observe(
      { model: label, protocol },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
) => Promise<void>;
