import { z } from 'zod';
import { SessionId } from './ids.js';
import { CreateSessionRequest } from './sessions.js';

/**
 * WebSocket `/api/v1/ws` messages. Topics: `events` (everything), `sessions` (session state
 * changes), `session:<id>`, `models`, `metrics`. Requests carry an `id` that the reply echoes.
 */
/**
 * A subscription, on the public WebSocket and the event handler's alike. `since` resumes: every
 * event after that stream id is replayed before live ones.
 */
export const SubscribeRequest = z.object({
  op: z.literal('subscribe'),
  id: z.string().max(100).optional(),
  topics: z.array(z.string().max(200)).min(1).max(50),
  since: z
    .string()
    .regex(/^\d+-\d+$/)
    .optional(),
});

export const WsClientMessage = z.discriminatedUnion('op', [
  SubscribeRequest,
  z.object({
    op: z.literal('unsubscribe'),
    id: z.string().max(100).optional(),
    topics: z.array(z.string()).min(1),
  }),
  z.object({ op: z.literal('create'), id: z.string().max(100), session: CreateSessionRequest }),
  z.object({ op: z.literal('stop'), id: z.string().max(100), sessionId: SessionId }),
  z.object({
    op: z.literal('predict'),
    id: z.string().max(100),
    model: z.string().max(128),
    version: z.number().int().min(1).optional(),
    /** a KServe v2 inference request body */
    request: z.record(z.string(), z.unknown()),
  }),
  z.object({ op: z.literal('ping'), id: z.string().max(100).optional() }),
]);
export type WsClientMessage = z.infer<typeof WsClientMessage>;

export type WsServerMessage =
  | { op: 'reply'; id: string; ok: true; result: unknown }
  | {
      op: 'reply';
      id: string;
      ok: false;
      error: { code: string; message: string; details?: unknown };
    }
  | {
      op: 'event';
      topic: string;
      event: { id: string; sessionId?: string; kind: string; payload: unknown; time: string };
    }
  | { op: 'hello'; role: string; server: string };
