import type Docker from 'dockerode';
import type { LaunchSpec } from '../backend.js';
import type { PlacementRules } from './swarm-placement.js';

/** Label on every worker service and its containers; its value is the session id. */
export const SESSION_LABEL = 'swarmml.session';
export const KIND_LABEL = 'swarmml.kind';

export interface WorkerSpecOptions {
  /** Image used when the spec names none. */
  image: string;
  /** Overlay network the workers join (the stack's, to reach Redis and the gateway). */
  network?: string;
  /** Docker secrets (already resolved to ids) mounted at /run/secrets/<target>. */
  secrets?: Array<{ id: string; name: string; target: string }>;
  /** Extra labels on every worker service. */
  labels?: Record<string, string>;
  /** @defaultValue 'swarmml-worker' */
  namePrefix?: string;
  /** Time between SIGTERM and SIGKILL when a worker is stopped. @defaultValue 10000 */
  stopGraceMs?: number;
  /** Reservation as a share of each limit, so tight nodes still schedule. @defaultValue 0.5 */
  reservationRatio?: number;
}

/** Service names allow [a-zA-Z0-9-], at most 63 characters. */
export function serviceName(sessionId: string, prefix = 'swarmml-worker'): string {
  const id = sessionId.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `${prefix}-${id}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * The container's arguments. With no command, the built-in image runs its built-in worker for
 * the session's kind (as the process backend does); any other image runs its own CMD.
 */
export function workerArgs(spec: LaunchSpec, builtinImage: string): string[] {
  if (spec.command.length > 0) return spec.command;
  if ((spec.image ?? builtinImage) !== builtinImage) return [];
  return [spec.kind === 'batch-infer' ? 'batch-infer' : 'trainer'];
}

/** One replicated service with one task that is never restarted: a session's worker. */
export function workerServiceSpec(
  spec: LaunchSpec,
  rules: PlacementRules,
  opts: WorkerSpecOptions,
): Docker.CreateServiceOptions {
  const labels = {
    ...opts.labels,
    [SESSION_LABEL]: spec.sessionId,
    [KIND_LABEL]: spec.kind,
  };
  const env = { ...spec.env, SWARMML_SESSION: spec.sessionId, SWARMML_DEVICE: spec.device };
  const ratio = opts.reservationRatio ?? 0.5;
  const { cpus, memoryMb, pids } = spec.limits;
  const limits: Docker.ResourceLimits = {};
  const reservations: Docker.Resources = {};
  if (cpus !== undefined) {
    limits.NanoCPUs = Math.round(cpus * 1e9);
    reservations.NanoCPUs = Math.round(cpus * ratio * 1e9);
  }
  if (memoryMb !== undefined) {
    limits.MemoryBytes = memoryMb * 1024 * 1024;
    reservations.MemoryBytes = Math.round(memoryMb * ratio) * 1024 * 1024;
  }
  if (pids !== undefined) limits.Pids = pids;
  if (rules.gpuKind !== undefined) {
    // The Engine API's shape; @types/dockerode flattens it wrongly.
    reservations.GenericResources = [
      { DiscreteResourceSpec: { Kind: rules.gpuKind, Value: 1 } },
    ] as unknown as Docker.GenericResource[];
  }
  return {
    Name: serviceName(spec.sessionId, opts.namePrefix),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image ?? opts.image,
        // Args, not Command: the image's entrypoint (which picks the service) stays in place.
        Args: workerArgs(spec, opts.image),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...workerContainer(labels, opts),
      },
      Resources: { Limits: limits, Reservations: reservations },
      ...oneShotTask(rules.constraints, opts),
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/** What every worker container shares: labels, no health probe, grace, secrets. */
function workerContainer(labels: Record<string, string>, opts: WorkerSpecOptions) {
  return {
    Labels: labels,
    // A session worker is a batch job: no HTTP server to probe.
    HealthCheck: { Test: ['NONE'] },
    StopGracePeriod: (opts.stopGraceMs ?? 10_000) * 1e6,
    Secrets: (opts.secrets ?? []).map((s) => ({
      SecretID: s.id,
      SecretName: s.name,
      File: { Name: s.target, UID: '0', GID: '0', Mode: 0o444 },
    })),
  };
}

function oneShotTask(constraints: string[], opts: WorkerSpecOptions) {
  return {
    // A finished or failed session is reported, never retried behind the user's back.
    RestartPolicy: { Condition: 'none' as const, MaxAttempts: 0 },
    Placement: { Constraints: constraints },
    ...(opts.network ? { Networks: [{ Target: opts.network }] } : {}),
  };
}

/** Label on a warm spare's service and container; its value is the node id it is pinned to. */
export const SPARE_LABEL = 'swarmml.spare';
/** The spare's own id, which its token and wait URL carry. */
export const SPARE_ID_LABEL = 'swarmml.spare.id';

/**
 * A warm spare: the built-in trainer started on one node ahead of any session, its modules
 * loaded, waiting at `waitUrl` for the environment of the session it is handed. Handed, the
 * service becomes that session's worker (its labels are updated; the task is not restarted).
 */
export function spareServiceSpec(
  spare: { id: string; nodeId: string; waitUrl: string; token: string },
  opts: WorkerSpecOptions,
): Docker.CreateServiceOptions {
  const labels = {
    ...opts.labels,
    [SPARE_LABEL]: spare.nodeId,
    [SPARE_ID_LABEL]: spare.id,
    [KIND_LABEL]: 'train',
  };
  return {
    Name: `${opts.namePrefix ?? 'swarmml-worker'}-spare-${spare.id}`.slice(0, 63),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: opts.image,
        Args: ['trainer'],
        Env: [`SWARMML_SPARE_URL=${spare.waitUrl}`, `SWARMML_SPARE_TOKEN=${spare.token}`],
        ...workerContainer(labels, opts),
      },
      ...oneShotTask([`node.id==${spare.nodeId}`], opts),
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}
