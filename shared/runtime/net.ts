import { createServer } from 'node:net';

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
