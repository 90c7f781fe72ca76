import { BadInput, Conflict } from '../errors.js';
import type { CreateSessionRequest, SessionJob } from '../protocol/sessions.js';
import type { EventLog, SessionRecord, SessionStore } from '../store/index.js';

/** What queueing a session touches; the gateway passes its own, the listener its own. */
export interface EnqueueDeps {
  sessions: Pick<SessionStore, 'create' | 'get'>;
  events: Pick<EventLog, 'append'>;
  /** a BullMQ Queue on `QUEUES.sessions` with prefix `keys.bullPrefix()` */
  queue: {
    add(
      name: string,
      data: SessionJob,
      opts: { jobId: string; priority: number; removeOnComplete: number; removeOnFail: number },
    ): Promise<unknown>;
  };
}

export interface Enqueued {
  session: SessionRecord;
  /** false when a deterministic id found the session already there */
  created: boolean;
}

export interface EnqueueOptions {
  /**
   * A deterministic id makes the call idempotent: a repeat finds the session, re-adds its
   * job (BullMQ ignores a jobId it holds) and answers the existing record.
   * @defaultValue a random UUID
   */
  id?: string;
}

/**
 * Queues one session: the record (state `queued`, with its trigger), a `session.queued`
 * event, then the `sessions` job the event-handler picks up, in that order so the handler
 * never sees a job without its record. The request was parsed and checked where it entered
 * (the gateway's route, the listener's trigger); it is queued as it is, not parsed again.
 */
export async function enqueueSession(
  deps: EnqueueDeps,
  request: CreateSessionRequest,
  opts: EnqueueOptions = {},
): Promise<Enqueued> {
  if (opts.id !== undefined && opts.id.includes(':')) {
    throw new BadInput(`session id ${opts.id} may not contain ':'`);
  }
  let rec: SessionRecord;
  let fresh = true;
  try {
    rec = await deps.sessions.create({
      kind: request.kind,
      request,
      ...(opts.id === undefined ? {} : { id: opts.id }),
      ...(request.trigger === undefined ? {} : { trigger: request.trigger }),
    });
  } catch (err) {
    if (!(err instanceof Conflict) || opts.id === undefined) throw err;
    rec = await deps.sessions.get(opts.id);
    fresh = false;
  }
  if (fresh) {
    await deps.events.append({
      kind: 'session.queued',
      sessionId: rec.id,
      payload: { request, trigger: request.trigger ?? 'api' },
    });
  }
  if (rec.state === 'queued') {
    const job: SessionJob = { sessionId: rec.id, request };
    // BullMQ runs lower priorities first; a jobId it already holds is ignored.
    await deps.queue.add('session', job, {
      jobId: rec.id,
      priority: request.priority,
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
  }
  return { session: rec, created: fresh };
}
