import { BadInput } from '../errors.js';
import { CreateSessionRequest } from '../protocol/sessions.js';

/**
 * Parses a session request where it enters a service that is not an HTTP route (the
 * listener's retraining); BadInput lists every issue with its path. From here on the
 * request travels parsed: `enqueueSession` and the handler's job take the typed command.
 */
export function parseSessionRequest(input: unknown): CreateSessionRequest {
  const parsed = CreateSessionRequest.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new BadInput(`invalid session request: ${first?.path || '(body)'}: ${first?.message}`, {
    issues,
  });
}
