import type Docker from 'dockerode';
import type { ClusterReport } from '../../shared/index.js';
import type { Backend } from './backend.js';
import { nodeFacts } from './swarm/swarm-placement.js';

/** Backends that can describe the swarm they run on (SwarmBackend). */
interface DescribesCluster {
  cluster(): Promise<ClusterReport>;
}

const STACK_LABEL = 'com.docker.stack.namespace';

/** The fields of the Engine API's node object read here (dockerode types it loosely). */
interface NodeObject {
  ID?: string;
  Description?: { Hostname?: string; Resources?: { NanoCPUs?: number; MemoryBytes?: number } };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string };
}

/** What `GET /cluster` answers with this backend: the swarm's view, or `{mode:'local'}`. */
export function clusterReporter(backend: Backend): () => Promise<ClusterReport> {
  const b = backend as Partial<DescribesCluster>;
  return typeof b.cluster === 'function'
    ? () => (b as DescribesCluster).cluster()
    : () => Promise.resolve({ mode: 'local' });
}

/**
 * Nodes, and the services of one install: those of the stack named `scope` plus the session
 * workers labelled `scopeLabel=scope`. Three API calls, whatever the number of services.
 */
export async function readSwarmCluster(
  docker: Docker,
  scope: string,
  scopeLabel: string,
): Promise<ClusterReport> {
  const [nodes, services, tasks] = await Promise.all([
    docker.listNodes(),
    docker.listServices(),
    docker.listTasks({ filters: { 'desired-state': ['running'] } }),
  ]);
  const running = new Map<string, number>();
  const ours = services.filter((s) => {
    const labels = s.Spec?.Labels ?? {};
    return labels[STACK_LABEL] === scope || labels[scopeLabel] === scope;
  });
  const nameOf = new Map(ours.map((s) => [s.ID ?? '', s.Spec?.Name ?? s.ID ?? '']));
  const onNode = new Map<string, Array<{ service: string; state: string }>>();
  for (const t of tasks as Array<{
    ServiceID?: string;
    NodeID?: string;
    Status?: { State?: string };
  }>) {
    if (t.ServiceID && t.Status?.State === 'running') {
      running.set(t.ServiceID, (running.get(t.ServiceID) ?? 0) + 1);
    }
    const service = nameOf.get(t.ServiceID ?? '');
    if (service !== undefined && t.NodeID) {
      const list = onNode.get(t.NodeID) ?? [];
      list.push({ service, state: t.Status?.State ?? '' });
      onNode.set(t.NodeID, list);
    }
  }
  return {
    mode: 'swarm',
    nodes: (nodes as NodeObject[]).map((n) => ({
      id: n.ID ?? '',
      hostname: n.Description?.Hostname ?? '',
      role: n.Spec?.Role ?? '',
      state: n.Status?.State ?? '',
      availability: n.Spec?.Availability ?? '',
      labels: n.Spec?.Labels ?? {},
      address: n.Status?.Addr ?? '',
      resources: {
        cpus: (n.Description?.Resources?.NanoCPUs ?? 0) / 1e9,
        memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0,
        generic: nodeFacts(n as never).generic,
      },
      tasks: (onNode.get(n.ID ?? '') ?? []).sort((a, b) => a.service.localeCompare(b.service)),
    })),
    services: ours
      .map((s) => ({
        name: s.Spec?.Name ?? s.ID ?? '',
        // Without a registry there is no digest; stack images come as name:tag@sha256:... elsewhere.
        image:
          (
            s.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined
          )?.ContainerSpec?.Image?.split('@')[0] ?? '',
        replicas: s.Spec?.Mode?.Replicated?.Replicas ?? null,
        running: running.get(s.ID ?? '') ?? 0,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
