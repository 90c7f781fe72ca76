import type Docker from 'dockerode';
import type { Logger } from '../../../shared/index.js';

/** A task container of a worker service died on this node. */
export interface ContainerDeath {
  serviceId: string;
  /** Absent for a warm spare's container: made before its session, it carries no session label. */
  sessionId?: string;
  containerId: string;
  exitCode: number | null;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Parses one line of the events stream; undefined for anything but a task container's death. */
export function parseDeath(line: string, sessionLabel: string): ContainerDeath | undefined {
  let ev: DockerEvent;
  try {
    ev = JSON.parse(line) as DockerEvent;
  } catch {
    return undefined;
  }
  const attrs = ev.Actor?.Attributes ?? {};
  const serviceId = attrs['com.docker.swarm.service.id'];
  const sessionId = attrs[sessionLabel];
  if (ev.Type !== 'container' || ev.Action !== 'die' || !serviceId) return undefined;
  const code = Number(attrs.exitCode);
  return {
    serviceId,
    ...(sessionId ? { sessionId } : {}),
    containerId: ev.Actor?.ID ?? '',
    exitCode: attrs.exitCode !== undefined && Number.isInteger(code) ? code : null,
  };
}

/**
 * Follows this node's Docker events for worker container deaths, reconnecting when the stream
 * drops. Deaths on other nodes are not seen here: the backend's task polling covers them.
 */
export class DeathWatch {
  private stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly labels: { filter: string; session: string },
    private readonly onDeath: (d: ContainerDeath) => void,
    private readonly log?: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.closed) return;
    const stream = await this.docker.getEvents({
      filters: { type: ['container'], event: ['die'], label: [this.labels.filter] },
    });
    this.stream = stream;
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      // One event per line, but a chunk may end mid-line.
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const d = line.trim() ? parseDeath(line, this.labels.session) : undefined;
        if (d) this.onDeath(d);
      }
    });
    const reconnect = (err?: unknown) => {
      if (this.closed || this.stream !== (stream as unknown)) return;
      this.stream = undefined;
      this.log?.warn({ err }, 'docker events stream ended; reconnecting');
      this.retry = setTimeout(() => {
        this.start().catch((e: unknown) => reconnect(e));
      }, 1000);
    };
    stream.on('error', reconnect);
    stream.on('end', () => reconnect());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    const s = this.stream;
    this.stream = undefined;
    s?.destroy?.();
  }
}
