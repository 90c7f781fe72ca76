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
