import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from '../../../shared/index.js';
import type { LaunchSpec } from '../backend.js';
import type { SpareDesk } from './spare-desk.js';
import {
  labelConstraint,
  nodeFacts,
  type NodeFacts,
  type PlacementRules,
} from './swarm-placement.js';
import { removeService } from './swarm-services.js';
import {
  SESSION_LABEL,
  SPARE_ID_LABEL,
  SPARE_LABEL,
  spareServiceSpec,
  type WorkerSpecOptions,
} from './swarm-service-spec.js';
import { newestTask, viewTask, type SwarmTask } from './swarm-tasks.js';

/** A spare that ends unhanded sooner than this after it was made holds its node back a while. */
const SHORT_LIVED_MS = 60_000;
/** How long a node whose spare failed young waits before it gets another. */
const BACKOFF_MS = 60_000;

export interface SpareNode {
  id: string;
  facts: NodeFacts;
}

export interface Spare {
  serviceId: string;
  /** the id in its token and its wait URL */
  id: string;
  nodeId: string;
}

/**
 * Whether a session may go to a warm spare: the built-in trainer on CPU with no limits, which
 * is what a spare was started as. GPU sessions reserve their device through Swarm's scheduler,
 * so they always get a service of their own.
 */
export function fitsSpare(spec: LaunchSpec, builtinImage: string): boolean {
  const { cpus, memoryMb, pids } = spec.limits;
  return (
    spec.kind === 'train' &&
    spec.command.length === 0 &&
    (spec.image ?? builtinImage) === builtinImage &&
    spec.device === 'cpu' &&
    cpus === undefined &&
    memoryMb === undefined &&
    pids === undefined
  );
}

function meets(rules: PlacementRules, facts: NodeFacts): boolean {
  return rules.constraints.every((c) => {
    const lc = labelConstraint(c);
    // placementFor writes label equalities only; anything else is left to Swarm's scheduler.
    return lc ? facts.labels[lc.key] === lc.value : false;
  });
}

/**
 * The spare a session goes to, among those ready: on a node that meets every constraint, off
 * the low-priority node unless the session is bound there (it is kept for long sessions), and
 * on the node handed a session longest ago, so that sessions spread as Swarm's scheduler would.
 */
export function chooseSpare(
  rules: PlacementRules,
  ready: readonly Spare[],
  nodes: ReadonlyMap<string, NodeFacts>,
  lastHanded: ReadonlyMap<string, number>,
): Spare | undefined {
  const boundLow = rules.constraints.includes('node.labels.priority==low');
  const fit = ready.filter((s) => {
    const facts = nodes.get(s.nodeId);
    return facts?.ready === true && meets(rules, facts);
  });
  const rank = (s: Spare) => [
    !boundLow && nodes.get(s.nodeId)?.labels.priority === 'low' ? 1 : 0,
    lastHanded.get(s.nodeId) ?? 0,
  ];
  fit.sort((a, b) => {
    const [a0, a1] = rank(a);
    const [b0, b1] = rank(b);
    return a0! - b0! || a1! - b1!;
  });
  return fit[0];
}

/** The parts of a spare's service (Engine API) the keeper reads. */
interface SpareService {
  ID: string;
  CreatedAt?: string;
  Spec?: {
    Labels?: Record<string, string>;
    TaskTemplate?: { ContainerSpec?: { Image?: string; Env?: string[] } };
  };
}

/** A scope's spare services, those handed a session included. */
async function scopeSpares(
  docker: Docker,
  scopeLabels: Record<string, string>,
): Promise<SpareService[]> {
  return (await docker.listServices({
    filters: { label: [...Object.entries(scopeLabels).map(([k, v]) => `${k}=${v}`), SPARE_LABEL] },
  })) as SpareService[];
}

/**
 * Removes the spares of a scope that were not handed a session: a backend without spares
 * (WARM_TRAINER=false) clears those an earlier one left.
 */
export async function removeIdleSpares(
  docker: Docker,
  scopeLabels: Record<string, string>,
): Promise<number> {
  const idle = (await scopeSpares(docker, scopeLabels)).filter(
    (s) => !s.Spec?.Labels?.[SESSION_LABEL],
  );
  for (const s of idle) await removeService(docker, s.ID);
  return idle.length;
}

export interface SpareKeeperOptions extends Omit<WorkerSpecOptions, 'secrets'> {
  docker: Docker;
  /** labels that find this backend's services (its scope) */
  scopeLabels: Record<string, string>;
  desk: SpareDesk;
  /** The URL a spare waits at, given its id. */
  waitUrl: (id: string) => string;
  token: (id: string) => string;
  secrets: () => Promise<WorkerSpecOptions['secrets']>;
  log?: Logger;
}

/**
 * Keeps one warm spare container on every ready, active node (swarm mode), so that a training
 * session starts without waiting for a container to be made, attached to the overlay and its
 * modules loaded. Spares on nodes that left, drained or failed are removed; a node whose spare
 * failed young waits BACKOFF_MS before it gets another, so a broken image cannot spin.
 */
export class SpareKeeper {
  private spares: Spare[] = [];
  private readonly handed = new Set<string>();
  private readonly made = new Map<string, number>();
  private readonly heldBack = new Map<string, number>();
  private readonly lastHanded = new Map<string, number>();
  private tending: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: SpareKeeperOptions) {}

  /** Brings the spares in line with the nodes. Calls while one runs fold into one more round. */
  tend(): Promise<void> {
    if (this.tending) {
      this.again = true;
      return this.tending;
    }
    this.tending = (async () => {
      try {
        do {
          this.again = false;
          await this.round();
        } while (this.again);
      } catch (err) {
        this.o.log?.warn({ err }, 'keeping warm spares failed');
      } finally {
        this.tending = undefined;
      }
    })();
    return this.tending;
  }

  /**
   * Hands a session's environment to the best ready spare for its rules; undefined when none
   * is ready (the caller makes a service of its own). The spare's node gets a new one.
   */
  take(
    rules: PlacementRules,
    nodes: readonly SpareNode[],
    env: Record<string, string>,
  ): (Spare & { hostname: string }) | undefined {
    const facts = new Map(nodes.map((n) => [n.id, n.facts]));
    let ready = this.spares.filter((s) => this.o.desk.isReady(s.id));
    for (;;) {
      const spare = chooseSpare(rules, ready, facts, this.lastHanded);
      if (!spare) return undefined;
      ready = ready.filter((s) => s !== spare);
      if (!this.o.desk.hand(spare.id, env)) continue;
      this.handed.add(spare.serviceId);
      this.spares = this.spares.filter((s) => s !== spare);
      this.lastHanded.set(spare.nodeId, Date.now());
      void this.tend();
      return { ...spare, hostname: facts.get(spare.nodeId)?.hostname ?? '' };
    }
  }

  private async listSpares(): Promise<SpareService[]> {
    const services = await scopeSpares(this.o.docker, this.o.scopeLabels);
    const present = new Set(services.map((s) => s.ID));
    for (const id of this.handed) if (!present.has(id)) this.handed.delete(id);
    // A handed spare is a session's worker now: the backend watches it.
    return services.filter((s) => !s.Spec?.Labels?.[SESSION_LABEL] && !this.handed.has(s.ID));
  }

  private async round(): Promise<void> {
    const now = Date.now();
    const nodes = (await this.o.docker.listNodes()) as Array<{ ID?: string }>;
    const usable = new Set(
      nodes.filter((n) => n.ID && nodeFacts(n as never).ready).map((n) => n.ID!),
    );
    const services = await this.listSpares();
    const tasks =
      services.length > 0
        ? ((await this.o.docker.listTasks({
            filters: { service: services.map((s) => s.ID) },
          })) as SwarmTask[])
        : [];
    const kept: Spare[] = [];
    for (const s of services) {
      // Handed since the listing: a session's worker, not the keeper's any more.
      if (this.handed.has(s.ID)) continue;
      const nodeId = s.Spec?.Labels?.[SPARE_LABEL] ?? '';
      const id = s.Spec?.Labels?.[SPARE_ID_LABEL] ?? '';
      const view = (() => {
        const t = newestTask(tasks.filter((x) => x.ServiceID === s.ID));
        return t ? viewTask(t) : undefined;
      })();
      const ended = view?.phase === 'ended';
      const stale = !id || !this.isCurrent(id, s.Spec?.TaskTemplate?.ContainerSpec);
      if (!usable.has(nodeId) || ended || stale || kept.some((k) => k.nodeId === nodeId)) {
        const born = this.made.get(s.ID) ?? Date.parse(s.CreatedAt ?? '');
        if (ended && now - born < SHORT_LIVED_MS) {
          this.heldBack.set(nodeId, now + BACKOFF_MS);
          this.o.log?.warn(
            { nodeId, serviceId: s.ID, error: view.error, exitCode: view.exitCode },
            'warm spare ended before it was handed a session; its node gets none for a while',
          );
        }
        await this.remove(s.ID);
        continue;
      }
      kept.push({ serviceId: s.ID, id, nodeId });
    }
    for (const nodeId of usable) {
      if (kept.some((k) => k.nodeId === nodeId) || (this.heldBack.get(nodeId) ?? 0) > now) continue;
      try {
        kept.push(await this.make(nodeId));
      } catch (err) {
        // One node's failure (its engine gone mid-round) leaves the other nodes their spares.
        this.heldBack.set(nodeId, now + BACKOFF_MS);
        this.o.log?.warn({ err, nodeId }, 'warm spare not started; its node gets none for a while');
      }
    }
    // A spare handed while this round listed is a session's worker now.
    this.spares = kept.filter((k) => !this.handed.has(k.serviceId));
  }

  /**
   * Whether a spare was made by this handler's settings: one left by an earlier deploy may run
   * an older image, or wait at another address with a token that is no longer valid.
   */
  private isCurrent(id: string, spec: { Image?: string; Env?: string[] } | undefined): boolean {
    const image = spec?.Image ?? '';
    const env = spec?.Env ?? [];
    return (
      (image === this.o.image || image.startsWith(`${this.o.image}@`)) &&
      env.includes(`SWARMML_SPARE_URL=${this.o.waitUrl(id)}`) &&
      env.includes(`SWARMML_SPARE_TOKEN=${this.o.token(id)}`)
    );
  }

  private async make(nodeId: string): Promise<Spare> {
    const id = `${nodeId.slice(0, 12).toLowerCase()}-${randomBytes(4).toString('hex')}`;
    const created = (await this.o.docker.createService(
      spareServiceSpec(
        { id, nodeId, waitUrl: this.o.waitUrl(id), token: this.o.token(id) },
        { ...this.o, labels: this.o.scopeLabels, secrets: await this.o.secrets() },
      ),
    )) as { id: string };
    this.made.set(created.id, Date.now());
    this.o.log?.info({ nodeId, serviceId: created.id }, 'warm spare started');
    return { serviceId: created.id, id, nodeId };
  }

  private async remove(serviceId: string): Promise<void> {
    this.made.delete(serviceId);
    await removeService(this.o.docker, serviceId);
  }
}
