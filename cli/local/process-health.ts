import { connect } from 'node:net';

/** One probe of a local process for `swarmml status`: `ready`, `not ready: <names>` or `down: <why>`. */
export async function probeLocalProcess(
  name: string,
  port: number,
  opts: { timeoutMs?: number; redisLogin?: { user: string; password: string } } = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 1_000;
  return name === 'redis' ? pingRedis(port, timeoutMs, opts.redisLogin) : readyz(port, timeoutMs);
}

async function readyz(port: number, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.ok) {
      await res.body?.cancel();
      return 'ready';
    }
    const body = (await res.json().catch(() => ({}))) as { failed?: { name: string }[] };
    const names = body.failed?.map((f) => f.name).join(', ');
    return `not ready${names ? `: ${names}` : ` (${res.status})`}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return `down: ${cause?.code ?? (err as Error).message}`;
  }
}

/**
 * PING in the inline protocol (after AUTH, when local mode's Redis requires a login), on a
 * socket of its own: no client library retrying behind.
 */
function pingRedis(
  port: number,
  timeoutMs: number,
  login: { user: string; password: string } | undefined,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (answer: string) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(`down: no answer within ${timeoutMs} ms`));
    socket.on('connect', () =>
      socket.write(`${login ? `AUTH ${login.user} ${login.password}\r\n` : ''}PING\r\n`),
    );
    socket.on('data', (d) => {
      reply += d.toString();
      const lines = reply.split('\r\n');
      if (lines.length <= (login ? 2 : 1)) return; // not every answer yet
      const pong = lines[login ? 1 : 0] ?? '';
      if (pong === '+PONG') done('ready');
      // Without the login, NOAUTH is how local mode's Redis answers: up and serving.
      else if (!login && pong.startsWith('-NOAUTH')) done('ready');
      else done(`not ready: ${(lines.find((l) => l.startsWith('-')) ?? pong).slice(0, 80)}`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(`down: ${err.code ?? err.message}`));
  });
}
