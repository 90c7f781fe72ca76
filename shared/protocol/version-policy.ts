/**
 * Which generations of a model answer `/versions/<n>` requests, as TF Serving's version
 * policy has it (docs/serving.md, "Version policy"):
 * - `{"latest": N}`: the N newest generations that are neither rejected nor archived;
 * - `{"specific": [..]}`: those generations, unless rejected or archived;
 * - `{"all": true}` (the default): every generation that is neither rejected nor archived.
 * Production is always served. A rejected or archived generation is served only while an
 * operator loaded it (`POST /v2/repository/models/<m>/load`, `Keys.modelLoaded`), a version
 * label points at it (`Keys.modelLabels`) or a running rollout uses it (challenger, shadow).
 * Stored as JSON under `Keys.modelVersionPolicy(m)`; absent means the default.
 */
import { z } from 'zod';

const gen = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const VersionPolicy = z.union([
  z.object({ latest: z.number().int().min(1).max(1000) }).strict(),
  z.object({ specific: z.array(gen).min(1).max(1000) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);
export type VersionPolicy = z.infer<typeof VersionPolicy>;

export const DEFAULT_VERSION_POLICY: VersionPolicy = Object.freeze({ all: true as const });

/** What the verdict needs to know about one model, read at once. */
export interface VersionFacts {
  model: string;
  production: number | null;
  /** generation → status (candidate, production, archived, rejected) */
  statuses: ReadonlyMap<number, string>;
  policy: VersionPolicy;
  /** generations an operator loaded through the repository API */
  loaded: ReadonlySet<number>;
  /** generations a version label points at */
  labelled: ReadonlySet<number>;
  /** a running or paused rollout's challenger and shadows */
  inRollout: ReadonlySet<number>;
}

const OFF_POLICY = new Set(['rejected', 'archived']);

/** How an operator serves a generation the policy does not. */
export const loadHint = (model: string, g: number) =>
  `load it with POST /v2/repository/models/${model}/load and {"parameters": {"version": "${g}"}}`;

/** The policy's generations (production aside), newest first. */
export function policyGenerations(f: VersionFacts): number[] {
  const eligible = [...f.statuses]
    .filter(([, status]) => !OFF_POLICY.has(status))
    .map(([g]) => g)
    .sort((a, b) => b - a);
  if ('latest' in f.policy) return eligible.slice(0, f.policy.latest);
  if ('specific' in f.policy) {
    const wanted = new Set(f.policy.specific);
    return eligible.filter((g) => wanted.has(g));
  }
  return eligible;
}

/** Why generation `g` is not served, or null when it is (or does not exist: that 404 is the loader's). */
export function versionVerdict(f: VersionFacts, g: number): string | null {
  const status = f.statuses.get(g);
  if (status === undefined || g === f.production) return null;
  if (f.loaded.has(g) || f.labelled.has(g) || f.inRollout.has(g)) return null;
  if (OFF_POLICY.has(status))
    return `generation ${g} of ${f.model} is ${status}; ${loadHint(f.model, g)}`;
  if (policyGenerations(f).includes(g)) return null;
  const policy = JSON.stringify(f.policy);
  return `generation ${g} of ${f.model} is outside its version policy ${policy}; ${loadHint(f.model, g)}`;
}
