/**
 * What is served where: a serving replica's own report (`GET /internal/fleet`, read by the
 * gateway) and the gateway's merged view of every replica (`GET /api/v1/serving`, read by the
 * CLI and the dashboard).
 */
import { z } from 'zod';

export const FleetReport = z.object({
  replica: z.string(),
  ready: z.boolean(),
  assignment: z.union([z.literal('*'), z.array(z.string())]),
  models: z.array(
    z.object({
      name: z.string(),
      state: z.string(),
      gen: z.number().int().nullable(),
      loaded: z.array(z.number().int()),
      queueDepth: z.number(),
    }),
  ),
});
export type FleetReport = z.infer<typeof FleetReport>;

/** A replica as the gateway reached it (or did not). */
export interface ReplicaView {
  url: string;
  ok: boolean;
  error?: string;
  replica?: string;
  ready?: boolean;
}

export interface ServedModel {
  model: string;
  /** one entry per replica that hosts it */
  served: Array<{
    url: string;
    replica: string;
    gen: number | null;
    state: string;
    loaded: number[];
  }>;
}

export interface ServingView {
  assignment: '*' | string[];
  replicas: ReplicaView[];
  models: ServedModel[];
}

/** Control messages every serving replica acts on (published on `keys.servingChannel()`). */
export type ServingControl =
  | { type: 'assignment' }
  | { type: 'optimized'; model: string; gen: number }
  /** the model's rollout state or labels changed: re-read them (shared/protocol/rollout.ts) */
  | { type: 'rollout'; model: string }
  /** an operator loaded or unloaded generations through the repository API */
  | { type: 'loaded'; model: string };

/** `GET /api/v1/serving/stats`: each replica's metrics folded per model for the dashboard. */
/** One model's serving figures. Latencies in milliseconds; null where nothing was measured. */
export interface ModelServingStats {
  model: string;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  meanLatencyMs: number | null;
  /** mean rows per model run */
  batchAvg: number | null;
  /** crashes of the model's process (shared by the models of a process group) */
  restarts: number;
  queueDepth: number;
  /** the largest drift score any replica reports; null when none does */
  drift: number | null;
}

export interface ReplicaStatus {
  url: string;
  ok: boolean;
  error?: string;
}

export interface ServingStats {
  /** ISO time of the reading */
  time: string;
  replicas: ReplicaStatus[];
  models: ModelServingStats[];
}
