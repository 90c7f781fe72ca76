import { z } from 'zod';
import { DecisionPayload, WorkerEvent } from './events.js';
import { SessionId } from './ids.js';
import { SubscribeRequest } from './ws.js';

/**
 * The event-handler's internal WebSocket (`/ws` on the event-handler port), used by workers,
 * the event-listener and the gateway. Authenticated with `Authorization: Bearer <token>`:
 * the internal token, or a session's worker token (which may only post that session's events).
 *
 * Delivery guarantees: a worker numbers its events (`seq`, 1, 2, 3 ... per session) and keeps
 * each until acked; after a reconnect it resends the unacked ones and the handler drops
 * duplicates, so the archive holds each event exactly once. Subscribers pass `since` (the last
 * stream id they saw) and get everything after it replayed before live events.
 */
export const HandlerClientMessage = z.discriminatedUnion('op', [
  SubscribeRequest,
  z.object({
    op: z.literal('event'),
    sessionId: SessionId,
    seq: z.number().int().min(1),
    event: WorkerEvent,
  }),
  z.object({
    op: z.literal('decide'),
    id: z.string().max(100),
    sessionId: SessionId.optional(),
    /** the event that caused it; the handler ignores a second decision for the same cause */
    causeId: z.string().max(100),
    decision: DecisionPayload,
  }),
]);
export type HandlerClientMessage = z.infer<typeof HandlerClientMessage>;

export type HandlerServerMessage =
  | { op: 'ack'; sessionId: string; seq: number; eventId?: string }
  | {
      op: 'reply';
      id: string;
      ok: boolean;
      result?: unknown;
      error?: { code: string; message: string };
    }
  | {
      op: 'event';
      topic: string;
      event: { id: string; sessionId?: string; kind: string; payload: unknown; time: string };
    }
  | { op: 'stop'; sessionId: string; reason: string };
