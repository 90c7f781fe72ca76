import { connect } from 'node:net';

/** One probe of a local process for `swarmml status`: `ready`, `not ready: <names>` or `down: <why>`. */
export async function probeLocalProcess(
  name: string,
  port: number,
  timeoutMs = 1_000,
): Promise<string> {
  return name === 'redis' ? pingRedis(port, timeoutMs) : readyz(port, timeoutMs);
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

/** PING in the inline protocol, on a socket of its own: no client library retrying behind. */
function pingRedis(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (answer: string) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(`down: no answer within ${timeoutMs} ms`));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG')) done('ready');
      else if (reply.startsWith('-NOAUTH')) done('ready (password set)');
      else done(`not ready: ${reply.trim().slice(0, 80)}`);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(`down: ${err.code ?? err.message}`));
  });
}
