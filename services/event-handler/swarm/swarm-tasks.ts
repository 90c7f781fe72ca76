/** The parts of a Swarm task (Engine API) that tell how a worker is doing. */
export interface SwarmTask {
  ID?: string;
  ServiceID?: string;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** Task states after which the task never runs again. */
const TERMINAL = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const NOT_YET = new Set([
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
]);

export type TaskView =
  | { phase: 'waiting'; state: string; reason?: string }
  | { phase: 'running'; containerId?: string }
  | { phase: 'ended'; state: string; exitCode: number | null; error?: string };

/** The newest task of a one-task service (a rejected task may be followed by none). */
export function newestTask(tasks: readonly SwarmTask[]): SwarmTask | undefined {
  return [...tasks].sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).at(-1);
}

export function viewTask(task: SwarmTask): TaskView {
  const state = task.Status?.State ?? 'new';
  if (TERMINAL.has(state)) {
    const cs = task.Status?.ContainerStatus;
    const err = task.Status?.Err;
    return {
      phase: 'ended',
      state,
      // A task that never started a container has no exit code (e.g. rejected: no such image).
      exitCode: cs?.ContainerID && typeof cs.ExitCode === 'number' ? cs.ExitCode : null,
      ...(err ? { error: err } : {}),
    };
  }
  if (NOT_YET.has(state)) {
    const reason = task.Status?.Err ?? (state === 'pending' ? task.Status?.Message : undefined);
    return { phase: 'waiting', state, ...(reason ? { reason } : {}) };
  }
  const containerId = task.Status?.ContainerStatus?.ContainerID;
  return { phase: 'running', ...(containerId ? { containerId } : {}) };
}

/** The parts of a Swarm node that tell whether its tasks can still report. */
export interface SwarmNodeStatus {
  ID?: string;
  Description?: { Hostname?: string };
  Status?: { State?: string; Message?: string };
}

/**
 * Why a task that has not ended will never report again: its node is down or gone. Swarm does
 * not restart a worker (restart condition none); it only sets the task's desired state to
 * shutdown, and the observed state stays what the node last said (often `running`).
 */
export function lostTaskReason(
  task: SwarmTask,
  nodes: ReadonlyMap<string, SwarmNodeStatus>,
): string | undefined {
  if (!task.NodeID || TERMINAL.has(task.Status?.State ?? 'new')) return undefined;
  const node = nodes.get(task.NodeID);
  const state = node?.Status?.State;
  if (node && state !== 'down' && state !== 'unknown' && state !== 'disconnected') return undefined;
  const name = node?.Description?.Hostname ?? task.NodeID;
  const why = node?.Status?.Message ? ` (${node.Status.Message})` : '';
  return `node ${name} is ${node ? state : 'gone'}${why}: its task was ${task.Status?.State ?? 'new'}, desired ${task.DesiredState ?? '?'}`;
}

/** The error Swarm's constraint enforcer gives the tasks it rejects from a node. */
export const CONSTRAINT_REFUSAL = 'assigned node no longer meets constraints';

/**
 * Whether Swarm took the task back from its node before any container ran: no worker was
 * lost, so the same service may be placed again. Swarm's constraint enforcer rejects a task
 * holding a named generic resource (a GPU id) on any update of its node, a drain's undo
 * included: it checks the node's whole resource list, in which the task's own GPU is always
 * still listed (Docker 28's swarmkit).
 */
export function refusedBeforeStart(task: SwarmTask): boolean {
  return (
    task.Status?.State === 'rejected' &&
    task.Status.Err === CONSTRAINT_REFUSAL &&
    !task.Status.ContainerStatus?.ContainerID
  );
}
