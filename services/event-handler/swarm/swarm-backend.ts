import Docker from 'dockerode';
import type { ClusterReport, Logger } from '../../../shared/index.js';
import type { Backend, LaunchSpec, Placement, WorkerExit, WorkerInfo } from '../backend.js';
import { checkLaunchRequest, type LaunchPolicy } from '../../../shared/index.js';
import { readSwarmCluster } from '../cluster-route.js';
import { DeathWatch, type ContainerDeath } from './swarm-events.js';
import { lastLines } from './swarm-logs.js';
import { SpareDesk } from './spare-desk.js';
import { explainPending, nodeFacts, placementFor, type PlacementRules } from './swarm-placement.js';
import {
  KIND_LABEL,
  SESSION_LABEL,
  workerServiceSpec,
  type WorkerSpecOptions,
} from './swarm-service-spec.js';
import { removeService, updateService } from './swarm-services.js';
import { fitsSpare, removeIdleSpares, SpareKeeper, type SpareNode } from './swarm-spares.js';
import {
  lostTaskReason,
  newestTask,
  refusedBeforeStart,
  viewTask,
  type SwarmNodeStatus,
  type SwarmTask,
  type TaskView,
} from './swarm-tasks.js';

/** Label that keeps one backend's workers apart from another's on the same swarm. */
export const SCOPE_LABEL = 'swarmml.scope';

export interface SwarmBackendOptions extends Omit<WorkerSpecOptions, 'secrets' | 'labels'> {
  /** @defaultValue a client on /var/run/docker.sock */
  docker?: Docker;
  /**
   * Workers of this backend carry `swarmml.scope=<scope>`; list, reconciliation and exit
   * reports only see their own scope. @defaultValue 'swarmml'
   */
  scope?: string;
  /** Docker secrets (by name) mounted in every worker at /run/secrets/<target ?? name>. */
  secrets?: Array<{ name: string; target?: string }>;
  /** When set, launches outside the allow-list throw Forbidden('NOT_ALLOWED') before any API call. */
  policy?: LaunchPolicy;
  /**
   * Generic resource kind a GPU session reserves one unit of; null: the `gpu` node label alone.
   * @defaultValue 'NVIDIA-GPU'
   */
  gpuKind?: string | null;
  /** Task polling period, which also catches exits on other nodes. @defaultValue 1000 */
  pollMs?: number;
  /** Remove a worker's service once its exit is reported. @defaultValue true */
  removeFinished?: boolean;
  /** @defaultValue 20 */
  logLines?: number;
  /**
   * Keep a warm spare on every ready node and hand built-in CPU trainings to them
   * (swarm-spares.ts): where a spare waits for its session, and the token it shows there.
   */
  spares?: { waitUrl: (id: string) => string; token: (id: string) => string };
  /** How often the spares are brought in line with the nodes. @defaultValue 5000 */
  tendSparesMs?: number;
  log?: Logger;
}

/** Times one worker is placed again after Swarm refused it before it ran (refusedBeforeStart). */
const MAX_PLACEMENTS_AGAIN = 10;

/** A worker's current state, with the reason when it is not running yet. */
export type WorkerState = TaskView | { phase: 'gone' };

/**
 * Runs each session's worker as a one-task Swarm service (restart condition none) and reports
 * its exit code once: from this node's `die` events when the container ran here, else from task
 * polling. Finished services are removed; `list()` finds workers left by an earlier process.
 */
export class SwarmBackend implements Backend {
  readonly name = 'swarm' as const;
  private readonly docker: Docker;
  private readonly scope: string;
  /** serviceId -> sessionId, for workers whose exit is still to report. */
  private readonly watched = new Map<string, string>();
  private readonly reported = new Set<string>();
  private readonly stopping = new Set<string>();
  /** serviceId -> the refused tasks it was placed again after */
  private readonly placedAgain = new Map<string, Set<string>>();
  private readonly exitCbs = new Set<(e: WorkerExit) => void>();
  private readonly deaths: DeathWatch;
  /** Where spares wait for sessions; the event handler's server routes their requests here. */
  readonly spareDesk: SpareDesk | undefined;
  private readonly keeper: SpareKeeper | undefined;
  private tender: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly opts: SwarmBackendOptions) {
    this.docker = opts.docker ?? new Docker({ socketPath: '/var/run/docker.sock' });
    this.scope = opts.scope ?? 'swarmml';
    this.deaths = new DeathWatch(
      this.docker,
      { filter: `${SCOPE_LABEL}=${this.scope}`, session: SESSION_LABEL },
      (d) => this.onDeath(d),
      opts.log,
    );
    if (opts.spares) {
      this.spareDesk = new SpareDesk();
      this.keeper = new SpareKeeper({
        ...opts,
        ...opts.spares,
        docker: this.docker,
        scopeLabels: { [SCOPE_LABEL]: this.scope },
        desk: this.spareDesk,
        secrets: () => this.resolveSecrets(),
      });
    }
  }

  /** Opens the events stream, adopts this scope's existing workers and starts polling. Idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.deaths.start();
      for (const s of await this.scopeServices()) {
        const session = s.Spec?.Labels?.[SESSION_LABEL];
        if (session) this.watched.set(s.ID, session);
      }
      this.poller = setInterval(() => void this.poll(), this.opts.pollMs ?? 1000);
      this.poller.unref();
      if (this.keeper) {
        const keeper = this.keeper;
        void keeper.tend();
        this.tender = setInterval(() => void keeper.tend(), this.opts.tendSparesMs ?? 5000);
        this.tender.unref();
      } else {
        const n = await removeIdleSpares(this.docker, { [SCOPE_LABEL]: this.scope });
        if (n > 0) this.opts.log?.info({ removed: n }, 'warm spares of an earlier handler removed');
      }
    })();
    return this.started;
  }

  async launch(spec: LaunchSpec): Promise<Placement> {
    const image = spec.image ?? this.opts.image;
    if (this.opts.policy) {
      checkLaunchRequest({ image, device: spec.device, limits: spec.limits }, this.opts.policy);
    }
    await this.start();
    const listed = (await this.docker.listNodes()) as Array<{ ID?: string }>;
    const nodes = listed.map((n) => nodeFacts(n as never));
    const rules = placementFor(spec, nodes, { gpuKind: this.opts.gpuKind });
    if (this.keeper && fitsSpare(spec, this.opts.image)) {
      const onNodes = listed.map((n, i) => ({ id: n.ID ?? '', facts: nodes[i]! }));
      const placed = await this.handToSpare(spec, rules, onNodes);
      if (placed) return placed;
    }
    const created = (await this.docker.createService(
      workerServiceSpec({ ...spec, image }, rules, {
        ...this.opts,
        labels: { [SCOPE_LABEL]: this.scope },
        secrets: await this.resolveSecrets(),
      }),
    )) as { id: string };
    this.watched.set(created.id, spec.sessionId);
    const pendingReason = explainPending(rules, nodes);
    return {
      backend: 'swarm',
      workerId: created.id,
      constraints: rules.constraints,
      ...(pendingReason ? { pendingReason } : {}),
    };
  }

  /**
   * Gives the session to a warm spare when one is ready on a node its rules allow. The spare's
   * service is labelled as the session's worker (a label change leaves its task running), so
   * that list() finds it after an event handler restart.
   */
  private async handToSpare(
    spec: LaunchSpec,
    rules: PlacementRules,
    nodes: SpareNode[],
  ): Promise<Placement | undefined> {
    const env = { ...spec.env, SWARMML_SESSION: spec.sessionId, SWARMML_DEVICE: spec.device };
    const spare = this.keeper?.take(rules, nodes, env);
    if (!spare) return undefined;
    this.watched.set(spare.serviceId, spec.sessionId);
    try {
      await updateService(this.docker, spare.serviceId, (s) => ({
        ...s,
        Labels: { ...s.Labels, [SESSION_LABEL]: spec.sessionId, [KIND_LABEL]: spec.kind },
      }));
    } catch (err) {
      // The worker runs and is watched; only a handler restart would lose sight of it.
      this.opts.log?.error(
        { err, sessionId: spec.sessionId, serviceId: spare.serviceId },
        'handed spare not labelled with its session',
      );
    }
    this.opts.log?.info(
      { sessionId: spec.sessionId, serviceId: spare.serviceId, node: spare.hostname },
      'session handed to a warm spare',
    );
    return {
      backend: 'swarm',
      workerId: spare.serviceId,
      ...(spare.hostname ? { node: spare.hostname } : {}),
      constraints: rules.constraints,
      warm: true,
    };
  }

  /** The worker's task state; `reason` says why a waiting task has no node. */
  async inspectWorker(workerId: string): Promise<WorkerState> {
    const tasks = (await this.docker
      .listTasks({ filters: { service: [workerId] } })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) return [];
        throw err;
      })) as SwarmTask[];
    const task = newestTask(tasks);
    return task ? viewTask(task) : { phase: 'gone' };
  }

  /**
   * Stops a worker and returns once it has ended, so that a session resumed from its checkpoint
   * never runs beside the worker still writing it. A container on this node gets the caller's
   * grace period; one on another node is stopped there by Swarm (the service scaled to no
   * replica: SIGTERM, then SIGKILL after the service's own StopGracePeriod) and waited for.
   */
  async stop(workerId: string, opts: { graceMs?: number } = {}): Promise<void> {
    this.stopping.add(workerId);
    const view = await this.inspectWorker(workerId);
    if (view.phase === 'running') {
      const t = Math.ceil((opts.graceMs ?? this.opts.stopGraceMs ?? 10_000) / 1000);
      const stoppedHere =
        view.containerId !== undefined &&
        (await this.docker
          .getContainer(view.containerId)
          .stop({ t })
          .then(
            () => true,
            (err: { statusCode?: number }) => err.statusCode === 304,
          ));
      if (!stoppedHere) await this.stopElsewhere(workerId);
      await this.poll();
    }
    await this.removeService(workerId);
    await this.poll();
  }

  private async stopElsewhere(workerId: string): Promise<void> {
    const scaled = await updateService(this.docker, workerId, (s) => ({
      ...s,
      Mode: { Replicated: { Replicas: 0 } },
    }));
    if (!scaled) return;
    // Its end is reported by the task's state; a node that went down never reports it, so
    // the wait is bounded by the grace and a margin for a loaded node.
    const graceMs = (this.opts.stopGraceMs ?? 10_000) + 15_000;
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await this.inspectWorker(workerId)).phase === 'running') {
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  onExit(cb: (exit: WorkerExit) => void): () => void {
    this.exitCbs.add(cb);
    // Exits seen while nobody listened were held back; report them now.
    void this.start().then(() => this.poll());
    return () => this.exitCbs.delete(cb);
  }

  /** Nodes, and this install's services (the stack named like the scope, and its workers). */
  cluster(): Promise<ClusterReport> {
    return readSwarmCluster(this.docker, this.scope, SCOPE_LABEL);
  }

  async list(): Promise<WorkerInfo[]> {
    const services = await this.scopeServices();
    if (services.length === 0) return [];
    const tasks = (await this.docker.listTasks({
      filters: { service: services.map((s) => s.ID) },
    })) as SwarmTask[];
    return services.map((s) => {
      const task = newestTask(tasks.filter((t) => t.ServiceID === s.ID));
      const view = task ? viewTask(task) : undefined;
      return {
        sessionId: s.Spec?.Labels?.[SESSION_LABEL] ?? this.watched.get(s.ID) ?? '',
        workerId: s.ID,
        running: view?.phase !== 'ended',
        ...(view?.phase === 'ended' ? { exitCode: view.exitCode } : {}),
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    clearInterval(this.tender);
    // Spares stay: the next event handler adopts them. Held requests are let go to ask it.
    this.spareDesk?.close();
    this.deaths.close();
    this.exitCbs.clear();
  }

  /** This scope's workers: labelled with their session, or spares handed one just now. */
  private async scopeServices(): Promise<
    Array<{ ID: string; Spec?: { Labels?: Record<string, string> } }>
  > {
    const all = await this.docker.listServices({
      filters: { label: [`${SCOPE_LABEL}=${this.scope}`] },
    });
    return all.filter((s) => s.Spec?.Labels?.[SESSION_LABEL] || this.watched.has(s.ID));
  }

  private async resolveSecrets(): Promise<Array<{ id: string; name: string; target: string }>> {
    const wanted = this.opts.secrets ?? [];
    if (wanted.length === 0) return [];
    const all = await this.docker.listSecrets({ filters: { name: wanted.map((w) => w.name) } });
    return wanted.map((w) => {
      const found = all.find((s) => s.Spec?.Name === w.name);
      if (!found) throw new Error(`docker secret ${w.name} does not exist`);
      return { id: found.ID, name: w.name, target: w.target ?? w.name };
    });
  }

  private onDeath(d: ContainerDeath): void {
    // A spare's container has no session label: its service says whose worker it became.
    const sessionId = d.sessionId ?? this.watched.get(d.serviceId);
    if (this.exitCbs.size === 0 || this.closed || sessionId === undefined) return;
    void this.finish(d.serviceId, sessionId, {
      exitCode: d.exitCode,
      containerId: d.containerId,
    });
  }

  /** Reports every watched worker whose task ended or whose service vanished. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed || this.exitCbs.size === 0 || this.watched.size === 0) return;
    this.polling = true;
    try {
      // Tasks are asked for present services only: one unknown id fails the whole request.
      const services = await this.scopeServices();
      const present = new Set(services.map((s) => s.ID));
      const ids = [...this.watched.keys()];
      const live = ids.filter((id) => present.has(id));
      const tasks =
        live.length > 0
          ? ((await this.docker.listTasks({ filters: { service: live } })) as SwarmTask[])
          : [];
      // Tasks on other nodes: a node that went down never reports its task's end.
      const nodes =
        live.length > 0 && tasks.some((t) => t.NodeID)
          ? new Map(
              ((await this.docker.listNodes()) as SwarmNodeStatus[]).map((n) => [n.ID ?? '', n]),
            )
          : new Map<string, SwarmNodeStatus>();
      for (const id of ids) {
        const session = this.watched.get(id);
        if (session === undefined) continue;
        const task = newestTask(tasks.filter((t) => t.ServiceID === id));
        const view = task ? viewTask(task) : undefined;
        if (task && view?.phase === 'ended' && (await this.placeAgain(id, session, task))) continue;
        if (view?.phase === 'ended') {
          await this.finish(id, session, {
            exitCode: view.exitCode,
            ...(task?.Status?.ContainerStatus?.ContainerID
              ? { containerId: task.Status.ContainerStatus.ContainerID }
              : {}),
            ...(view.error ? { error: view.error } : {}),
          });
        } else if (task && nodes.size > 0 && lostTaskReason(task, nodes)) {
          await this.finish(id, session, {
            exitCode: null,
            error: lostTaskReason(task, nodes)!,
          });
        } else if (!present.has(id)) {
          const error = this.stopping.has(id) ? 'stopped' : 'worker service was removed';
          await this.finish(id, session, { exitCode: null, error });
        }
      }
    } catch (err) {
      this.opts.log?.warn({ err }, 'polling swarm tasks failed');
    } finally {
      this.polling = false;
    }
  }

  /**
   * A task Swarm refused before it ran gets a new one (a forced service update), so that the
   * session waits for its node as a pending launch instead of ending: with restart condition
   * none Swarm would leave the service without a task. True while the refusal is handled.
   */
  private async placeAgain(
    serviceId: string,
    sessionId: string,
    task: SwarmTask,
  ): Promise<boolean> {
    if (!refusedBeforeStart(task) || !task.ID || this.stopping.has(serviceId)) return false;
    const done = this.placedAgain.get(serviceId) ?? new Set<string>();
    // Already replaced: its successor is not listed yet.
    if (done.has(task.ID)) return true;
    if (done.size >= MAX_PLACEMENTS_AGAIN) return false;
    await updateService(this.docker, serviceId, (s) => ({
      ...s,
      TaskTemplate: { ...s.TaskTemplate, ForceUpdate: (s.TaskTemplate?.ForceUpdate ?? 0) + 1 },
    }));
    done.add(task.ID);
    this.placedAgain.set(serviceId, done);
    this.opts.log?.warn(
      { sessionId, serviceId, taskId: task.ID, times: done.size },
      'swarm refused the worker before it ran; placed again',
    );
    return true;
  }

  private async finish(
    serviceId: string,
    sessionId: string,
    outcome: { exitCode: number | null; error?: string; containerId?: string },
  ): Promise<void> {
    if (this.reported.has(serviceId)) return;
    this.reported.add(serviceId);
    this.watched.delete(serviceId);
    this.placedAgain.delete(serviceId);
    const logs = await lastLines(this.docker, {
      serviceId,
      ...(outcome.containerId ? { containerId: outcome.containerId } : {}),
      n: this.opts.logLines ?? 20,
    });
    if (this.opts.removeFinished ?? true) await this.removeService(serviceId);
    this.stopping.delete(serviceId);
    const exit: WorkerExit = {
      sessionId,
      workerId: serviceId,
      exitCode: outcome.exitCode,
      ...(logs.length > 0 ? { lastLogs: logs } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    for (const cb of this.exitCbs) {
      try {
        cb(exit);
      } catch (err) {
        this.opts.log?.error({ err, sessionId }, 'onExit callback threw');
      }
    }
  }

  private removeService(serviceId: string): Promise<void> {
    return removeService(this.docker, serviceId);
  }
}
