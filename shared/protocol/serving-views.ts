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
  { type: 'assignment' } | { type: 'optimized'; model: string; gen: number };
