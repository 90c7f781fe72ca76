import { EventEmitter } from 'node:events';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  closeWorker,
  QUEUES,
  SessionJob,
  isTerminal,
  type EventLog,
  type Keys,
  type Logger,
  type ModelRegistry,
  type SessionRecord,
  type SessionState,
  type SessionStore,
} from '../../shared/index.js';
import type { Backend, Placement, WorkerExit } from './backend.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { HandlerConfig } from './config.js';
import { sessionEnv } from './session-env.js';

export interface RunnerDeps {
  config: HandlerConfig;
  log: Logger;
  keys: Keys;
  workerRedis: Redis;
  /** a plain client: a resumed worker's event numbering starts over (its `seq` key) */
  redis: Redis;
  sessions: SessionStore;
  checkpoints: CheckpointStore;
  events: EventLog;
  registry: ModelRegistry;
  backend: Backend;
  handlerWsUrl: () => string;
}

/**
 * How often a session adopted after a restart has its record re-read while its end is awaited.
 * The end normally arrives as an event (this runner's own `finish`, or a `session.finished`
 * from the archive for one written elsewhere); this re-read only catches a writer that died
 * between marking the record terminal and archiving the event, which no event will announce.
 */
const ADOPTED_SAFETY_POLL_MS = 30_000;

/** What a session that goes back to the queue to resume from its checkpoint records. */
export interface Requeue {
  reason: string;
  /** resume on a `node.labels.priority==low` node (a session moved past MOVE_AFTER_S) */
  lowPriority: boolean;
  checkpointBytes: number;
  /** 1 for the first re-queue */
  attempt: number;
  /** whether the lost worker had said hello: only those count against MAX_RESUMES */
  ran: boolean;
}

/**
 * Re-queues of a worker lost before it said hello (a relaunch that Swarm took back from its
 * node, one that died starting): they cost the session no progress, so they do not spend its
 * MAX_RESUMES, but a relaunch that can never start must still end.
 */
const MAX_REQUEUES_BEFORE_HELLO = 10;

/** Emitted on `ends` when the runner closes: every wait for a session's end gives up. */
const CLOSING = Symbol('closing');
/** The `ends` event of one session (prefixed: a session id could be `error`). */
const endOf = (sessionId: string) => `end:${sessionId}`;

/**
 * Takes session requests off the `sessions` queue (BullMQ priorities decide the order),
 * launches each through the backend and holds the job until the worker ends, so the
 * worker's concurrency is the number of sessions running at once.
 */
export class SessionRunner {
  private worker: Worker | undefined;
  private readonly waiting = new Map<string, (exit: WorkerExit) => void>();
  private readonly stopRequested = new Map<string, string>();
  /** sessions asked to stop so that they resume on a low-priority node, with the reason */
  private readonly moveRequested = new Map<string, string>();
  private readonly unsubscribe: () => void;
  /** `endOf(id)` is emitted once the session is terminal (see `sessionEnded`) */
  private readonly ends = new EventEmitter().setMaxListeners(0);
  private closing = false;

  constructor(private readonly d: RunnerDeps) {
    this.unsubscribe = d.backend.onExit((exit) => void this.onExit(exit));
  }

  start(): void {
    this.worker = new Worker(QUEUES.sessions, (job: Job) => this.process(job), {
      connection: this.d.workerRedis,
      prefix: this.d.keys.bullPrefix(),
      concurrency: this.d.config.MAX_SESSIONS,
      // A job stalls only if this handler dies; the next handler re-runs it idempotently.
      maxStalledCount: 10,
    });
    this.worker.on('error', (err) => this.d.log.warn({ err }, 'sessions worker error'));
  }

  /**
   * The request was parsed and checked against the launch policy where it entered (gateway
   * route, listener trigger); here only the job's shape is checked. A malformed job cannot
   * succeed on a retry, so it fails for good, and its session (when it names one) with it.
   */
  private async process(job: Job): Promise<void> {
    const input = SessionJob.safeParse(job.data);
    if (!input.success) {
      await this.rejectMalformed(job, input.error.issues);
      throw new UnrecoverableError(`bad SessionJob: ${input.error.message}`);
    }
    const { sessionId, request } = input.data;
    // Once per launch: a session whose worker was lost (or moved) with a checkpoint comes back
    // `queued` and is launched again by this same job, so it resumes where the queue put it.
    for (;;) {
      const rec = await this.d.sessions.get(sessionId).catch(() => undefined);
      if (!rec || isTerminal(rec.state)) return;
      const done = new Promise<WorkerExit>((resolve) => this.waiting.set(sessionId, resolve));
      if (rec.state === 'starting' || rec.state === 'running') {
        // A previous handler launched it and reconciliation re-adopted it; its exit may
        // already have been recorded, so also wait for the session to end.
        await Promise.race([done, this.untilEnded(sessionId)]);
        this.waiting.delete(sessionId);
        if (await this.isQueued(sessionId)) continue;
        return;
      }
      await this.move(sessionId, 'placing', {});
      let placement: Placement;
      try {
        placement = await this.d.backend.launch({
          sessionId,
          kind: request.kind,
          ...(request.container?.image ? { image: request.container.image } : {}),
          command: request.container?.command ?? [],
          env: sessionEnv(sessionId, request, this.d.config, this.d.handlerWsUrl()),
          device: request.device,
          limits: {},
          timeBudgetS: request.timeBudgetS,
          pool: 'train',
          ...((await this.movedToLowPriority(sessionId)) ? { lowPriority: true } : {}),
        });
      } catch (err) {
        this.waiting.delete(sessionId);
        await this.finish(sessionId, 'failed', {
          exitCode: null,
          reason: `launch failed: ${(err as Error).message}`,
        });
        return;
      }
      // The worker runs whatever happens to this bookkeeping: its job keeps the slot until
      // the worker ends, or a queued session would start beside it (MAX_SESSIONS).
      await this.recordPlacement(sessionId, placement).catch((err: unknown) =>
        this.d.log.error({ err, sessionId }, 'placement not recorded; waiting for the worker'),
      );
      await done;
      if (!(await this.isQueued(sessionId))) return;
    }
  }

  private async isQueued(sessionId: string): Promise<boolean> {
    const rec = await this.d.sessions.get(sessionId).catch(() => undefined);
    return rec?.state === 'queued';
  }

  /** The session's events since its latest launch (those of earlier, lost workers left out). */
  private async currentAttemptEvents(sessionId: string) {
    const evs = await this.d.events.range({ sessionId, count: 100_000 });
    const last = evs.map((e) => e.kind).lastIndexOf('session.requeued');
    return { all: evs, current: evs.slice(last + 1) };
  }

  private async movedToLowPriority(sessionId: string): Promise<boolean> {
    const { all } = await this.currentAttemptEvents(sessionId);
    return all.some(
      (e) => e.kind === 'session.requeued' && (e.payload as Requeue | null)?.lowPriority === true,
    );
  }

  /** Logs a malformed job and ends the session it names, so no record waits queued forever. */
  private async rejectMalformed(
    job: Job,
    issues: { path: PropertyKey[]; message: string }[],
  ): Promise<void> {
    const summary = issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join('.') || '(job)'}: ${i.message}`);
    const named = (job.data as { sessionId?: unknown } | null)?.sessionId;
    const sessionId = typeof named === 'string' && named.length > 0 ? named : undefined;
    this.d.log.error(
      { jobId: job.id, sessionId, issues: summary },
      'malformed session job failed, not retried',
    );
    if (sessionId === undefined) return;
    try {
      const rec = await this.d.sessions.get(sessionId);
      if (isTerminal(rec.state)) return;
      await this.finish(sessionId, 'failed', {
        exitCode: null,
        reason: `malformed session job: ${summary.join('; ')}`,
      });
    } catch (err) {
      // No record under that id (or it cannot be read): the failed job is what remains.
      this.d.log.warn({ err, jobId: job.id, sessionId }, 'malformed job names no live session');
    }
  }

  /**
   * A fast worker may say hello (→ running) before the launch call returns here, so the
   * placement is recorded with a transition only while the session is still placing.
   */
  private async recordPlacement(sessionId: string, placement: Placement): Promise<void> {
    const patch = { placement, workerId: placement.workerId };
    try {
      await this.move(sessionId, 'starting', patch);
    } catch (err) {
      const rec = await this.d.sessions.get(sessionId);
      if (rec.state === 'placing') throw err;
      await this.d.sessions.update(sessionId, patch);
      // Stopped while the launch was under way (a warm trainer can take a moment to be ready):
      // the session is over, so its worker must not run on.
      if (isTerminal(rec.state)) {
        await this.d.backend.stop(placement.workerId, { graceMs: this.d.config.STOP_GRACE_MS });
      }
      return;
    }
    const { current } = await this.currentAttemptEvents(sessionId);
    if (current.some((e) => e.kind === 'session.started')) await this.markRunning(sessionId);
  }

  /**
   * Resolves once the session is terminal (or the runner closes). Listens before reading the
   * record, so an end between the read and the listening is not missed.
   */
  private untilEnded(sessionId: string): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.ends.off(endOf(sessionId), settle);
        this.ends.off(CLOSING, settle);
        resolve();
      };
      this.ends.on(endOf(sessionId), settle);
      this.ends.on(CLOSING, settle);
      const check = async () => {
        const rec = await this.d.sessions.get(sessionId).catch(() => undefined);
        if (settled) return;
        if (!rec || isTerminal(rec.state) || this.closing) return settle();
        timer = setTimeout(() => void check(), ADOPTED_SAFETY_POLL_MS);
        timer.unref();
      };
      void check();
    });
  }

  /**
   * A session ended: wakes whatever waits on it. `finish` calls this for the ends this
   * runner writes; the handler's archive tail calls it for `session.finished` events, which
   * carry ends written by another process.
   */
  sessionEnded(sessionId: string): void {
    this.ends.emit(endOf(sessionId));
  }

  private async move(
    id: string,
    to: SessionState,
    patch: Parameters<SessionStore['transition']>[2],
  ): Promise<SessionRecord> {
    const rec = await this.d.sessions.transition(id, to, patch);
    await this.d.events.append({
      sessionId: id,
      kind: 'session.state',
      payload: { state: to, ...patch },
    });
    return rec;
  }

  /** The worker said hello: the session is running. */
  async markRunning(sessionId: string): Promise<void> {
    const rec = await this.d.sessions.get(sessionId);
    // While still placing, recordPlacement sees the hello in the archive and moves on.
    if (rec.state !== 'starting') return;
    try {
      await this.move(sessionId, 'running', {});
    } catch (err) {
      // The hello's handler and recordPlacement may both get here: the second finds it done.
      if ((await this.d.sessions.get(sessionId)).state === 'starting') throw err;
    }
  }

  /**
   * What the worker announced as it exited: an adopted worker's exit status is not ours to
   * read, and a failing worker says why it gave up.
   */
  private async announcedExit(
    sessionId: string,
  ): Promise<{ exitCode: number | null; reason: string | undefined }> {
    const { current } = await this.currentAttemptEvents(sessionId);
    const last = current.reverse().find((e) => e.kind === 'worker.exiting');
    const p = last?.payload as { exitCode?: number; reason?: string } | undefined;
    return { exitCode: p?.exitCode ?? null, reason: p?.reason };
  }

  private async onExit(raw: WorkerExit): Promise<void> {
    const { sessionId } = raw;
    try {
      const announced = raw.exitCode === 0 ? undefined : await this.announcedExit(sessionId);
      const exit = raw.exitCode === null ? { ...raw, exitCode: announced!.exitCode } : raw;
      const stopReason = this.stopRequested.get(sessionId);
      this.stopRequested.delete(sessionId);
      const moveReason = this.moveRequested.get(sessionId);
      this.moveRequested.delete(sessionId);
      let unfinished: string | undefined;
      if (stopReason === undefined) {
        const requeue = await this.resumeDecision(sessionId, exit, announced, moveReason);
        if (requeue) return await this.requeue(sessionId, requeue);
        // Exited 0 with its checkpoint left, past MAX_RESUMES: interrupted again, not done.
        if (exit.exitCode === 0 && (await this.d.checkpoints.size(sessionId)) > 0) {
          unfinished = `worker stopped before its work was done, after ${this.d.config.MAX_RESUMES} resumes (MAX_RESUMES)`;
        }
      }
      const state: SessionState =
        stopReason !== undefined
          ? 'stopped'
          : exit.exitCode === 0 && unfinished === undefined
            ? 'succeeded'
            : 'failed';
      const reason =
        stopReason ??
        unfinished ??
        (exit.exitCode === 0
          ? undefined
          : (exit.error ??
            announced?.reason ??
            `worker exited with code ${exit.exitCode ?? 'unknown'}${exit.signal ? ` (${exit.signal})` : ''}`));
      await this.finish(sessionId, state, {
        exitCode: exit.exitCode,
        lastLogs: exit.lastLogs ?? [],
        ...(reason ? { reason } : {}),
      });
    } catch (err) {
      this.d.log.error({ err, sessionId }, 'could not record worker exit');
    } finally {
      this.waiting.get(sessionId)?.(raw);
      this.waiting.delete(sessionId);
    }
  }

  /**
   * Whether a worker that ended without being asked to stop goes back to the queue: only with
   * a checkpoint to resume from, within MAX_RESUMES, and not when it failed by its own account
   * (an announced non-zero exit: resuming would fail the same way). A checkpoint left behind
   * means its work was not done: workers delete theirs when they finish.
   */
  private async resumeDecision(
    sessionId: string,
    exit: { exitCode: number | null; signal?: string | null; error?: string },
    announced: { exitCode: number | null; reason: string | undefined } | undefined,
    moveReason: string | undefined,
  ): Promise<Requeue | undefined> {
    const bytes = await this.d.checkpoints.size(sessionId);
    if (bytes === 0) return undefined;
    const ownFailure = exit.exitCode !== 0 && announced?.reason !== undefined;
    if (ownFailure && moveReason === undefined) return undefined;
    const { all, current } = await this.currentAttemptEvents(sessionId);
    const ran = current.some((e) => e.kind === 'session.started');
    const earlier = all
      .filter((e) => e.kind === 'session.requeued')
      .map((e) => (e.payload as Partial<Requeue> | null)?.ran !== false);
    const spent = earlier.filter((hadRun) => hadRun === ran).length + 1;
    if (spent > (ran ? this.d.config.MAX_RESUMES : MAX_REQUEUES_BEFORE_HELLO)) return undefined;
    const lost =
      exit.error ??
      `worker exited with code ${exit.exitCode ?? 'unknown'}${exit.signal ? ` (${exit.signal})` : ''}`;
    return {
      reason: moveReason ?? `worker lost: ${lost}`,
      lowPriority: moveReason !== undefined || (await this.movedToLowPriority(sessionId)),
      checkpointBytes: bytes,
      attempt: earlier.length + 1,
      ran,
    };
  }

  /**
   * Back to `queued`, its job (held by `process`) launches it again. The new worker numbers
   * its events from 1, so the archive's last seq of the lost one is forgotten: that worker is
   * gone, none of its events can still arrive.
   */
  private async requeue(sessionId: string, r: Requeue): Promise<void> {
    const rec = await this.d.sessions.get(sessionId);
    if (isTerminal(rec.state)) return;
    await this.d.redis.del(this.d.keys.sessionSeq(sessionId));
    await this.d.sessions.transition(sessionId, 'queued', { reason: r.reason });
    await this.d.events.append({ sessionId, kind: 'session.requeued', payload: r });
    this.d.log.info({ sessionId, ...r }, 'session re-queued to resume from its checkpoint');
  }

  /** Reconciliation found the session's worker gone: re-queued when it can resume. */
  async requeueLost(sessionId: string, exitCode: number | null, why: string): Promise<boolean> {
    const r = await this.resumeDecision(sessionId, { exitCode, error: why }, undefined, undefined);
    if (r) await this.requeue(sessionId, r);
    return r !== undefined;
  }

  /**
   * Stops a running session so that it resumes from its checkpoint on a low-priority node
   * (the paper's rule for sessions past 5 hours). Its worker writes a checkpoint as it stops.
   */
  async moveToLowPriority(sessionId: string, reason: string): Promise<boolean> {
    const rec = await this.d.sessions.get(sessionId);
    if (rec.state !== 'running' || !rec.workerId || this.moveRequested.has(sessionId)) return false;
    this.moveRequested.set(sessionId, reason);
    await this.d.events.append({
      sessionId,
      kind: 'session.moving',
      payload: { reason, from: rec.placement ?? null },
    });
    await this.d.backend.stop(rec.workerId, { graceMs: this.d.config.MOVE_GRACE_MS });
    return true;
  }

  /**
   * Ends a session: final state, exit code archived, and no candidate left undecided. With
   * `from`, only a session still in that state is ended (a compare-and-set): false, and
   * nothing done, when another writer moved it first.
   */
  async finish(
    sessionId: string,
    state: SessionState,
    patch: { exitCode: number | null; reason?: string; lastLogs?: string[] },
    opts: { from?: SessionState } = {},
  ): Promise<boolean> {
    const rec = await this.d.sessions.get(sessionId);
    if (isTerminal(rec.state)) return false;
    if (opts.from) {
      if (rec.state !== opts.from) return false;
      if (!(await this.d.sessions.transitionFrom(sessionId, opts.from, state, patch))) return false;
    } else {
      // A worker that succeeded without ever saying hello still ran: record it as it was.
      if (state === 'succeeded' && rec.state !== 'running') {
        if (rec.state === 'placing') await this.move(sessionId, 'starting', {});
        await this.move(sessionId, 'running', {});
      }
      await this.d.sessions.transition(sessionId, state, patch);
    }
    this.sessionEnded(sessionId);
    // Nothing resumes an ended session: its checkpoint would only take memory.
    await this.d.checkpoints
      .remove(sessionId)
      .catch((err: unknown) => this.d.log.warn({ err, sessionId }, 'checkpoint not removed'));
    await this.d.events.append({
      sessionId,
      kind: 'session.finished',
      payload: {
        state,
        exitCode: patch.exitCode,
        reason: patch.reason ?? null,
        lastLogs: patch.lastLogs ?? [],
      },
    });
    if (state !== 'succeeded') await this.rejectDangling(rec, state);
    return true;
  }

  private async rejectDangling(rec: SessionRecord, state: SessionState): Promise<void> {
    const model = (rec.request as { model?: string }).model;
    if (!model) return;
    const gens = await this.d.registry.listGenerations(model).catch(() => []);
    for (const g of gens) {
      if (g.sessionId === rec.id && g.status === 'candidate') {
        const reason = `session ${rec.id} ${state} before its candidate was decided`;
        await this.d.registry.reject(model, g.gen, reason);
        await this.d.events.append({
          sessionId: rec.id,
          kind: 'generation.rejected',
          payload: { model, gen: g.gen, reason },
        });
      }
    }
  }

  /**
   * Stops a session: a queued one ends at once; a launched one gets SIGTERM (then SIGKILL
   * after the grace period) and is marked stopped when its worker exits.
   */
  async stop(sessionId: string, reason: string): Promise<SessionRecord> {
    // Each pass acts on what it read; a pass that loses a race to another writer (the launch
    // recorded its worker: placing → starting) reads again. A retry needs another writer to
    // have moved the session in between, which a launch or a requeue does a few times at most.
    for (;;) {
      const rec = await this.d.sessions.get(sessionId);
      if (isTerminal(rec.state)) return rec;
      if (rec.state === 'queued' || !rec.workerId) {
        // Ended only from the state read: no worker can have been recorded since, as the
        // launch records its worker in the same step that leaves `placing`. A launch that
        // finds the session ended stops its own worker (recordPlacement).
        const ended = await this.finish(
          sessionId,
          'stopped',
          { exitCode: null, reason },
          { from: rec.state },
        );
        if (ended) return this.d.sessions.get(sessionId);
        continue;
      }
      this.stopRequested.set(sessionId, reason);
      await this.d.backend.stop(rec.workerId, { graceMs: this.d.config.STOP_GRACE_MS });
      return this.d.sessions.get(sessionId);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.ends.emit(CLOSING);
    this.unsubscribe();
    if (this.worker && !(await closeWorker(this.worker, { graceMs: 5_000, force: true })))
      this.d.log.warn('sessions worker closed late');
  }
}
