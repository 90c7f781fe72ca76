import type Docker from 'dockerode';

/**
 * Splits Docker's multiplexed log payload (8-byte frame headers: stream, 0, 0, 0, size u32 BE)
 * into text. A payload without valid headers (a TTY service) is returned as is.
 */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const stream = buf[i];
    if ((stream !== 0 && stream !== 1 && stream !== 2) || buf.readUIntBE(i + 1, 3) !== 0) {
      return buf.toString('utf8');
    }
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function toLines(raw: Buffer | string, n: number): string[] {
  const text = Buffer.isBuffer(raw) ? demuxLogs(raw) : raw;
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-n);
}

/**
 * The last `n` lines a worker printed (stdout and stderr). The container's own log when it ran
 * on this node (complete at once); else the service log, which the swarm gathers from the
 * task's node. Never throws: logs are a courtesy in the exit report.
 */
export async function lastLines(
  docker: Docker,
  w: { serviceId: string; containerId?: string; n: number; timeoutMs?: number },
): Promise<string[]> {
  const opts = {
    stdout: true,
    stderr: true,
    tail: w.n,
    follow: false as const,
    abortSignal: AbortSignal.timeout(w.timeoutMs ?? 2000),
  };
  if (w.containerId) {
    // The log copier may still be flushing when the `die` event arrives: retry an empty read.
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const raw = await docker.getContainer(w.containerId).logs(opts);
        const lines = toLines(raw, w.n);
        if (lines.length > 0) return lines;
      } catch {
        break; // not on this node: the service log below
      }
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
  try {
    const raw = (await docker.getService(w.serviceId).logs(opts)) as unknown as Buffer | string;
    return toLines(raw, w.n);
  } catch {
    return [];
  }
}
