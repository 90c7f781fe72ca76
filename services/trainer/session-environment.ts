import { createLogger } from '../../shared/index.js';

/**
 * Where a trainer finds its session: its own environment (a worker started for its session),
 * or, for a warm spare started ahead of any session with its modules loaded, the environment
 * the event handler hands it when a session comes: over IPC (local mode) or by waiting at the
 * handler's `/spares/<id>/session` (swarm mode).
 */
export async function sessionEnvironment(
  own: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  if (own.SWARMML_WARM === '1') return await fromParent();
  const url = own.SWARMML_SPARE_URL;
  if (!url) return own;
  const { SWARMML_SPARE_TOKEN: token = '', ...rest } = own;
  // The session's environment joins the container's own (the image's PATH and the like stay,
  // as for a worker started for its session).
  return { ...rest, ...(await fromDesk(url, token, rest.LOG_LEVEL)) };
}

function fromParent(): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    // Ready only once listening: a message sent before would be lost.
    process.send?.({ ready: true });
    process.once('message', (m: { env: Record<string, string> }) => {
      // Disconnecting inside the handler trips node; unref lets the process end when done.
      process.channel?.unref();
      resolve(m.env);
    });
  });
}

/** How long one wait may take: the handler answers 204 well before this. */
const WAIT_MS = 60_000;
/** Between tries while the handler cannot be reached (it restarts, or is not up yet). */
const RETRY_MS = 1000;

/**
 * Waits at the event handler until it hands this spare a session. A refused token is not
 * retried: the spare exits and its keeper sees it fail.
 */
async function fromDesk(
  url: string,
  token: string,
  level = 'info',
): Promise<Record<string, string>> {
  // The session's own logger needs its config; this one says only what the spare waits on.
  const log = createLogger('trainer', level);
  log.info({ url }, 'warm spare waiting for a session');
  for (;;) {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(WAIT_MS),
      });
    } catch {
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    if (res.status === 200) {
      return ((await res.json()) as { env: Record<string, string> }).env;
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 404) {
      log.error(
        { status: res.status, body: text.slice(0, 200) },
        'warm spare refused by the event handler',
      );
      process.exit(78);
    }
    // 204: nothing yet; 5xx: the handler is in trouble. Either way, ask again.
    if (res.status !== 204) await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}
