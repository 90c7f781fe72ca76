import type { Queue } from 'bullmq';
import type { CreateSessionRequest } from './protocol/sessions.js';
import type { EventLog, SessionRecord, SessionStore } from './store/index.js';

/**
 * Records a session as queued, archives `session.queued` and queues its job; used by the
 * REST API, the WebSocket API and the retraining triggers alike. The job id is the session
 * id, so a retried enqueue never queues a session twice. Validate the request first.
 */
export async function enqueueSession(
  d: { sessions: SessionStore; events: EventLog; queue: Queue },
  request: CreateSessionRequest,
): Promise<SessionRecord> {
  const rec = await d.sessions.create({
    kind: request.kind,
    request,
    ...(request.trigger ? { trigger: request.trigger } : {}),
  });
  await d.events.append({
    sessionId: rec.id,
    kind: 'session.queued',
    payload: { request, trigger: request.trigger ?? 'api' },
  });
  await d.queue.add(
    'session',
    { sessionId: rec.id, request },
    {
      jobId: rec.id,
      // BullMQ: lower number runs first, 0 means "no priority" — our 1..100 maps onto 1..100.
      priority: request.priority,
      removeOnComplete: 1000,
      removeOnFail: 1000,
    },
  );
  return rec;
}
