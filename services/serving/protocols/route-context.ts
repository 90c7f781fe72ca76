/** What the protocol routes need from the app, and the pieces they share. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFound, sendError, type Logger } from '../../../shared/index.js';
import type { ServingMetrics } from '../metrics.js';
import type { DecodeOffload } from '../decoding/decode-offload.js';
import type { ModelFleet } from '../hosting/model-fleet.js';
import type { ModelStats } from './model-stats.js';
import type { Traffic } from '../rollout/traffic.js';

export interface RouteContext {
  fleet: ModelFleet;
  metrics: ServingMetrics;
  /** Triton's per model statistics (`/v2/models/.../stats`) */
  stats: ModelStats;
  log: Logger;
  /** @defaultValue 64 MiB */
  maxBodyBytes: number;
  /** decodes KServe bodies, off the HTTP thread when they are large */
  decoder: DecodeOffload;
  /** inference requests being handled now */
  inflight: number;
  /** picks the answering generation, names the answer, counts, mirrors and records it */
  traffic: Traffic;
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

/**
 * Runs an inference handler with request, error and latency metrics. `fn` may return the
 * generation that answered (statistics per version); otherwise the current one is charged.
 */
export async function observed(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
  protocol: Protocol,
  fn: () => Promise<number | undefined | void>,
): Promise<void> {
  const started = process.hrtime.bigint();
  // Only served names become label values, so bad requests cannot blow up cardinality.
  const label = ctx.fleet.serves(model) ? model : '(unknown)';
  ctx.metrics.requests.inc({ model: label, protocol });
  ctx.inflight++;
  let gen: number | undefined | void;
  let ok = false;
  try {
    gen = await fn();
    ok = true;
  } catch (err) {
    const status = sendError(req, res, err, ctx.log, 'protocol');
    ctx.metrics.errors.inc({ model: label, protocol, status: String(status) });
  } finally {
    ctx.inflight--;
    const ns = Number(process.hrtime.bigint() - started);
    ctx.metrics.latency.observe({ model: label, protocol }, ns / 1e9);
    if (label === model) {
      const version = gen ?? ctx.fleet.host(model)?.gen;
      ctx.stats.request(model, version === undefined ? '' : String(version), ok, ns);
    }
  }
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RouteContext,
) => Promise<void>;

/** Runs a metadata handler (no request metrics): its errors answer in the protocols' shape. */
export async function guarded(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    sendError(req, res, err, ctx.log, 'protocol');
  }
}
