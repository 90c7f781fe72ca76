/**
 * The version policy at serving's door: a `/versions/<n>` request (and metadata for one)
 * reaches the generation only when shared/protocol/version-policy.ts says it is served,
 * else a 404 saying why and how to load it. What the verdict needs is read from Redis once
 * per model and kept until a message says it changed (a generation's status, a rollout or
 * label change, an operator's load or unload), or for `ttlMs` at most, in case a message
 * was missed.
 */
import { NotFound, versionVerdict, type VersionFacts } from '../../../shared/index.js';

export class VersionGate {
  private readonly cache = new Map<string, { at: number; facts: Promise<VersionFacts> }>();

  constructor(
    private readonly read: (model: string) => Promise<VersionFacts>,
    /** @defaultValue 2000 */
    private readonly ttlMs = 2_000,
  ) {}

  /** Throws NotFound, saying why, when generation `gen` of `model` is not served. */
  async check(model: string, gen: number): Promise<void> {
    const why = versionVerdict(await this.facts(model), gen);
    if (why !== null) throw new NotFound(why, { model, version: gen });
  }

  /** The generations an operator loaded (for a replica to load them ahead of requests). */
  async loaded(model: string): Promise<number[]> {
    return [...(await this.facts(model)).loaded].sort((a, b) => a - b);
  }

  /** Forgets what was read about `model` (every model when omitted). */
  invalidate(model?: string): void {
    if (model === undefined) this.cache.clear();
    else this.cache.delete(model);
  }

  private facts(model: string): Promise<VersionFacts> {
    const hit = this.cache.get(model);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.facts;
    const facts = this.read(model);
    const entry = { at: Date.now(), facts };
    this.cache.set(model, entry);
    // a failed read is not kept: the next request tries again
    facts.catch(() => {
      if (this.cache.get(model) === entry) this.cache.delete(model);
    });
    return facts;
  }
}
