import { lookup } from 'node:dns/promises';
import type http from 'node:http';

/**
 * The serving replicas the gateway spreads inference over. In swarm mode the list comes
 * from DNS (`tasks.serving`, endpoint_mode dnsrr) and is re-resolved on a short timer so
 * scaled-up and replaced replicas are picked up. A replica that could not be reached is
 * skipped for `downMs`, even while DNS still lists it (a crashed node's tasks stay listed until
 * Swarm declares the node down), and the sockets the tracked agents hold to it are destroyed.
 */
export class ServingUpstreams {
  private urls: URL[] = [];
  private next = 0;
  private readonly down = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly dns: { host: string; port: number } | undefined;
  private readonly agents = new Set<http.Agent>();
  private readonly downListeners = new Set<(u: URL) => void>();

  constructor(
    spec: string,
    private readonly refreshMs = 1_000,
    private readonly downMs = 5_000,
  ) {
    if (spec.startsWith('dns:')) {
      const [, host, port] = spec.split(':');
      this.dns = { host: host ?? 'tasks.serving', port: Number(port ?? 8081) };
    } else {
      this.urls = spec.split(',').map((s) => new URL(s.trim()));
    }
  }

  async start(): Promise<void> {
    if (!this.dns) return;
    await this.resolve();
    this.timer = setInterval(() => void this.resolve(), this.refreshMs);
    this.timer.unref();
  }

  private async resolve(): Promise<void> {
    if (!this.dns) return;
    try {
      const addrs = await lookup(this.dns.host, { all: true, family: 4 });
      // Docker's DNS shuffles its answers; a stable order keeps replica listings (and the
      // names the dashboard derives from positions) from changing every refresh.
      const ordered = addrs.map((a) => a.address).sort(compareIPv4);
      this.urls = ordered.map((a) => new URL(`http://${a}:${this.dns?.port}`));
      const listed = new Set(this.urls.map((u) => u.host));
      for (const host of this.down.keys()) if (!listed.has(host)) this.down.delete(host);
    } catch {
      // Keep the last known list: a DNS hiccup must not empty the pool.
    }
  }

  /** Round-robin pick, skipping replicas marked down in the last refresh period. */
  pick(exclude?: Set<string>): URL | undefined {
    const n = this.urls.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const u = this.urls[(this.next++ & 0x7fffffff) % n];
      if (!u) continue;
      const downAt = this.down.get(u.host);
      if (exclude?.has(u.host) || (downAt !== undefined && now - downAt < this.downMs)) continue;
      return u;
    }
    return undefined;
  }

  /** Any known replica, down or not: the last resort when every one failed recently. */
  any(): URL | undefined {
    if (this.urls.length === 0) return undefined;
    return this.urls[(this.next++ & 0x7fffffff) % this.urls.length];
  }

  /**
   * Skips the replica for a while and ends the requests in flight to it: on a crashed node
   * they would wait for an answer that never comes, while a retry elsewhere answers at once.
   */
  markDown(u: URL): void {
    this.down.set(u.host, Date.now());
    for (const agent of this.agents) dropSockets(agent, u);
    for (const cb of this.downListeners) cb(u);
  }

  /** `cb` runs for each replica marked down (a client other than an http.Agent ends its requests). */
  onDown(cb: (u: URL) => void): void {
    this.downListeners.add(cb);
  }

  /** Sockets of `agent` to a replica marked down are destroyed (retryable: ECONNRESET). */
  track(agent: http.Agent): void {
    this.agents.add(agent);
  }

  all(): URL[] {
    return [...this.urls];
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

const ipv4Key = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const compareIPv4 = (a: string, b: string) => ipv4Key(a) - ipv4Key(b);

/** Destroys an agent's sockets to one host:port: busy ones with a retryable error. */
function dropSockets(agent: http.Agent, u: URL): void {
  const prefix = `${u.hostname}:${u.port || 80}:`;
  const matching = (pool: NodeJS.ReadOnlyDict<unknown[]>) =>
    Object.entries(pool).flatMap(([name, list]) => (name.startsWith(prefix) ? (list ?? []) : []));
  for (const socket of matching(agent.sockets)) {
    (socket as import('node:net').Socket).destroy(
      Object.assign(new Error('replica marked down'), { code: 'ECONNRESET' }),
    );
  }
  // Idle ones have no request to tell; the agent forgets them when they close.
  for (const socket of matching(agent.freeSockets)) (socket as import('node:net').Socket).destroy();
}
