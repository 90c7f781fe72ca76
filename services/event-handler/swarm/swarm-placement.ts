import type { LaunchSpec } from '../backend.js';

/** Budgets above this go to `node.labels.priority==low` nodes (the paper's rule). */
export const LOW_PRIORITY_BUDGET_S = 5 * 3600;

/** What the placement rules need to know about one swarm node. */
export interface NodeFacts {
  hostname: string;
  ready: boolean;
  labels: Record<string, string>;
  /** Generic resources the node's dockerd advertises, by kind: NVIDIA-GPU -> ids. */
  generic: Record<string, string[]>;
}

export interface PlacementRules {
  constraints: string[];
  /** Generic resource kind to reserve one unit of, for GPU sessions. */
  gpuKind?: string;
}

/** The pool a worker kind belongs to when the cluster has pools. */
export function defaultPool(kind: LaunchSpec['kind']): string {
  return kind === 'serve' ? 'prod' : 'train';
}

/**
 * Constraints for one session. Pools apply only where some node carries a `pool` label, so an
 * unlabelled cluster still runs everything; GPU and long-budget rules always apply.
 */
export function placementFor(
  spec: Pick<LaunchSpec, 'kind' | 'device' | 'timeBudgetS' | 'pool' | 'lowPriority'>,
  nodes: readonly NodeFacts[],
  opts: { gpuKind?: string | null } = {},
): PlacementRules {
  const constraints: string[] = [];
  const gpuKind = opts.gpuKind === undefined ? 'NVIDIA-GPU' : opts.gpuKind;
  if (spec.device === 'gpu') constraints.push('node.labels.gpu==true');
  if (spec.lowPriority || (spec.timeBudgetS ?? 0) > LOW_PRIORITY_BUDGET_S)
    constraints.push('node.labels.priority==low');
  const pooled = nodes.some((n) => n.labels.pool !== undefined);
  if (spec.pool !== undefined || pooled) {
    const pool = spec.pool ?? defaultPool(spec.kind);
    if (pooled) constraints.push(`node.labels.pool==${pool}`);
  }
  return spec.device === 'gpu' && gpuKind ? { constraints, gpuKind } : { constraints };
}

/** A `node.labels.<key>==<value>` constraint's parts; undefined for any other form. */
export function labelConstraint(c: string): { key: string; value: string } | undefined {
  const m = /^node\.labels\.([^=!]+)==(.+)$/.exec(c);
  return m ? { key: m[1]!, value: m[2]! } : undefined;
}

/**
 * Why no node can take the session, in words a user can act on; undefined when some ready node
 * satisfies every rule (the scheduler may still queue it for lack of free CPU or memory).
 */
export function explainPending(
  rules: PlacementRules,
  nodes: readonly NodeFacts[],
): string | undefined {
  const ready = nodes.filter((n) => n.ready);
  if (ready.length === 0) return 'no swarm node is ready';
  const reasons: string[] = [];
  let candidates = ready;
  for (const c of rules.constraints) {
    const lc = labelConstraint(c);
    if (!lc) continue;
    const next = candidates.filter((n) => n.labels[lc.key] === lc.value);
    if (next.length === 0) {
      reasons.push(
        `no ready node has label ${lc.key}=${lc.value} (docker node update --label-add ${lc.key}=${lc.value} <node>)`,
      );
    }
    candidates = next;
  }
  if (rules.gpuKind !== undefined) {
    const kind = rules.gpuKind;
    if (!ready.some((n) => (n.generic[kind] ?? []).length > 0)) {
      reasons.push(
        `no node advertises ${kind} (start dockerd with --node-generic-resource ${kind}=<device id>)`,
      );
    } else if (
      candidates.length > 0 &&
      !candidates.some((n) => (n.generic[kind] ?? []).length > 0)
    ) {
      reasons.push(`the nodes that match the labels advertise no ${kind}`);
    }
  }
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** Reads the facts placement needs from the Engine API's node objects. */
export function nodeFacts(node: {
  Description?: {
    Hostname?: string;
    Resources?: {
      GenericResources?: Array<{
        NamedResourceSpec?: { Kind?: string; Value?: string };
        DiscreteResourceSpec?: { Kind?: string; Value?: number };
      }>;
    };
  };
  Spec?: { Labels?: Record<string, string>; Availability?: string };
  Status?: { State?: string };
}): NodeFacts {
  const generic: Record<string, string[]> = {};
  for (const g of node.Description?.Resources?.GenericResources ?? []) {
    if (g.NamedResourceSpec?.Kind) {
      (generic[g.NamedResourceSpec.Kind] ??= []).push(g.NamedResourceSpec.Value ?? '');
    } else if (g.DiscreteResourceSpec?.Kind) {
      const n = g.DiscreteResourceSpec.Value ?? 0;
      (generic[g.DiscreteResourceSpec.Kind] ??= []).push(
        ...Array.from({ length: n }, (_, i) => `#${i}`),
      );
    }
  }
  return {
    hostname: node.Description?.Hostname ?? '',
    ready: node.Status?.State === 'ready' && (node.Spec?.Availability ?? 'active') === 'active',
    labels: node.Spec?.Labels ?? {},
    generic,
  };
}
