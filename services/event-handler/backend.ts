/**
 * Where session workers run. The event handler talks only to this interface:
 * ProcessBackend (local child processes) and SwarmBackend (one Swarm service per session)
 * implement it.
 */
export interface LaunchSpec {
  sessionId: string;
  kind: 'train' | 'serve' | 'batch-infer';
  /** Container image (swarm) — must be allow-listed; ignored by the process backend. */
  image?: string;
  /** Command and args. For the process backend: a node entry + args. */
  command: string[];
  /** Env per the worker contract (SWARMML_SESSION, SWARMML_GATEWAY_URL, SWARMML_TOKEN, ...). */
  env: Record<string, string>;
  device: 'cpu' | 'gpu';
  limits: { cpus?: number; memoryMb?: number; pids?: number };
  /** Seconds; budgets over 5 h go to `node.labels.priority==low` nodes (the paper's rule). */
  timeBudgetS?: number;
  /** Run on `node.labels.priority==low` whatever the budget: a session moved there past MOVE_AFTER_S. */
  lowPriority?: boolean;
  /** Node pool label value (`pool=train` for training, `pool=prod` for serving). */
  pool?: string;
}

export interface Placement {
  backend: 'process' | 'swarm';
  /** pid, or Swarm service id */
  workerId: string;
  node?: string;
  constraints?: string[];
  /** Started in a warm spare (its modules loaded ahead of the session): no start-up paid. */
  warm?: true;
  /** Why it is not running yet (e.g. "no node advertises NVIDIA-GPU"), when known. */
  pendingReason?: string;
}

export interface WorkerExit {
  sessionId: string;
  workerId: string;
  /** Process exit code; 128+signal for signals (137 = SIGKILL), null when unknown. */
  exitCode: number | null;
  signal?: string | null;
  /** Last lines the worker printed, for the session record. */
  lastLogs?: string[];
  error?: string;
}

export interface WorkerInfo {
  sessionId: string;
  workerId: string;
  running: boolean;
  exitCode?: number | null;
}

export interface Backend {
  readonly name: 'process' | 'swarm';
  launch(spec: LaunchSpec): Promise<Placement>;
  /** Ask the worker to stop (SIGTERM / service removal), forcing after graceMs. */
  stop(workerId: string, opts?: { graceMs?: number }): Promise<void>;
  /** Called once per worker when it ends, whatever the reason. Returns an unsubscribe. */
  onExit(cb: (exit: WorkerExit) => void): () => void;
  /** Workers this backend knows of, for reconciliation after an event-handler restart. */
  list(): Promise<WorkerInfo[]>;
  close(): Promise<void>;
}
