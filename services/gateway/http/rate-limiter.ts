/**
 * Per-token token buckets, in memory per gateway process: with one gateway replica
 * (the host-port constraint in swarm mode) this is the whole limit.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Returns 0 if allowed, else the seconds to wait. `perSecond` 0 means unlimited. */
  take(key: string, perSecond: number, now = Date.now()): number {
    if (perSecond <= 0) return 0;
    const burst = Math.max(1, perSecond);
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }
}
