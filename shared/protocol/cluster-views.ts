/**
 * What `GET /api/v1/cluster` answers, and the event handler's `GET /cluster` report it is built
 * from. The handler writes the report, the gateway validates it, and the dashboard and CLI
 * read the view: one definition for all four.
 */
import { z } from 'zod';

/** A swarm node as the event handler reports it. */
export const ClusterNode = z.object({
  id: z.string(),
  hostname: z.string(),
  role: z.string(),
  state: z.string(),
  availability: z.string(),
  labels: z.record(z.string(), z.string()),
  /** the address other nodes reach it at */
  address: z.string().optional(),
  /** what its engine advertises: CPUs, memory, generic resources (e.g. NVIDIA-GPU ids) */
  resources: z
    .object({
      cpus: z.number(),
      memoryBytes: z.number(),
      generic: z.record(z.string(), z.array(z.string())),
    })
    .optional(),
  /** this install's tasks that should run on it now */
  tasks: z.array(z.object({ service: z.string(), state: z.string() })).optional(),
});
export type ClusterNode = z.infer<typeof ClusterNode>;

/** A swarm service of this install (the stack's own, and session workers). */
export const ClusterService = z.object({
  name: z.string(),
  image: z.string(),
  /** desired tasks; null for a global service */
  replicas: z.number().int().nullable(),
  /** tasks running now */
  running: z.number().int(),
});
export type ClusterService = z.infer<typeof ClusterService>;

export const SwarmReport = z.object({
  mode: z.literal('swarm'),
  nodes: z.array(ClusterNode),
  services: z.array(ClusterService),
});
export type SwarmReport = z.infer<typeof SwarmReport>;

/** The event handler's `GET /cluster`: the swarm's view, or `{mode:'local'}`. */
export const ClusterReport = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('local') }),
  SwarmReport,
]);
export type ClusterReport = z.infer<typeof ClusterReport>;

/** A platform process the gateway checked. */
export interface ProcessStatus {
  name: string;
  url: string;
  up: boolean;
  latencyMs?: number;
  error?: string;
}

/** A session worker: a child process (local mode) or a Swarm service. */
export interface WorkerView {
  sessionId: string;
  state: string;
  model: string | null;
  backend: string | null;
  workerId: string | null;
  node: string | null;
}

/** `GET /api/v1/cluster`. */
export interface ClusterView {
  mode: 'local' | 'swarm';
  processes: ProcessStatus[];
  workers: WorkerView[];
  /** swarm nodes and services, as the event handler reports them (absent when it does not) */
  swarm?: SwarmReport;
}
