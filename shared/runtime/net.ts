import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from './logger.js';

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a TCP port can be listened on (on `host`, and on all interfaces where a proxy may hold it). */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  for (const h of [host, '0.0.0.0']) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, h, () => srv.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

/** Listens and resolves with the bound port; rejects (EADDRINUSE, EACCES) instead of throwing later. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * For a service's main.ts: a server that cannot take its port ends the process with exit code 1
 * and a message naming the port, rather than a stack trace or, worse, a service that runs on
 * without the port it was given (a supervisor or Docker then sees it fail and says so).
 */
export function exitOnListenError(log: Logger, what: string, port: number) {
  return (err: unknown): never => {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} is already in use (another swarmml, or another program)`
        : code === 'EACCES'
          ? `no permission to listen on port ${port}`
          : ((err as Error | null)?.message ?? String(err));
    log.fatal({ port, code }, `${what} cannot listen: ${why}`);
    // Also as plain text on stderr: readable whatever LOG_LEVEL says.
    process.stderr.write(`${what}: cannot listen on port ${port}: ${why}\n`);
    process.exit(1);
  };
}
