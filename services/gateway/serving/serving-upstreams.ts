import { lookup } from 'node:dns/promises';

/**
 * The serving replicas the gateway spreads inference over. In swarm mode the list comes
 * from DNS (`tasks.serving`, endpoint_mode dnsrr) and is re-resolved on a short timer so
 * scaled-up and replaced replicas are picked up; a replica that refuses a connection is
 * skipped until the next resolution.
 */
export class ServingUpstreams {
  private urls: URL[] = [];
  private next = 0;
  private readonly down = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly dns: { host: string; port: number } | undefined;

  constructor(
    spec: string,
    private readonly refreshMs = 1_000,
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
      this.down.clear();
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
      if (exclude?.has(u.host) || (downAt !== undefined && now - downAt < this.refreshMs * 2))
        continue;
      return u;
    }
    return undefined;
  }

  /** Any known replica, down or not: the last resort when every one failed recently. */
  any(): URL | undefined {
    if (this.urls.length === 0) return undefined;
    return this.urls[(this.next++ & 0x7fffffff) % this.urls.length];
  }

  markDown(u: URL): void {
    this.down.set(u.host, Date.now());
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
