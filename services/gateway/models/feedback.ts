/**
 * Ground truth for served answers: each `{id, label}` is joined to the prediction record
 * serving kept (`Keys.prediction`) and counted on the generation that answered and on every
 * shadow that answered the same request (`feedback`, `feedbackCorrect`; regressors add their
 * absolute and squared errors). A prediction takes one label: a second one for the same id
 * is answered as a duplicate and counts nothing, so a client retrying a post cannot skew the
 * accuracy the rollout gates read.
 */
import type { Redis } from 'ioredis';
import {
  PredictionRecord,
  claimPredictions,
  type FeedbackBody,
  type Keys,
  type ModelRegistry,
} from '../../../shared/index.js';

export interface FeedbackResult {
  accepted: number;
  /** ids with no prediction record (never answered, another model's, or expired) */
  unknown: string[];
  /** ids that already had their label */
  duplicate: string[];
  /** labels that do not fit the prediction, with why */
  invalid: { id: string; reason: string }[];
}

/** A label as a class index for `gen`, or a number for regressors; a string names why not. */
type Resolve = (gen: number) => Promise<readonly string[] | null>;

async function classIndex(
  label: number | string,
  gen: number,
  names: Resolve,
): Promise<number | string> {
  if (typeof label === 'number') {
    return Number.isInteger(label) && label >= 0 ? label : `class ${label} is not a class index`;
  }
  const known = await names(gen);
  const i = known?.indexOf(label) ?? -1;
  if (i >= 0) return i;
  if (/^(0|[1-9][0-9]{0,5})$/.test(label)) return Number(label);
  return known
    ? `generation ${gen} has no class "${label}"; its classes: ${known.slice(0, 20).join(', ')}`
    : `generation ${gen} records no class names; send the class index`;
}

export async function applyFeedback(
  deps: { redis: Redis; keys: Keys; registry: ModelRegistry },
  model: string,
  body: FeedbackBody,
): Promise<FeedbackResult> {
  const { redis, keys, registry } = deps;
  const items = Array.isArray(body) ? body : [body];
  const out: FeedbackResult = { accepted: 0, unknown: [], duplicate: [], invalid: [] };
  const cache = new Map<number, Promise<readonly string[] | null>>();
  const names: Resolve = (gen) => {
    let p = cache.get(gen);
    if (!p) {
      p = registry.getGeneration(model, gen).then(
        (g) => {
          const n = (g.io as { labelNames?: unknown } | undefined)?.labelNames;
          return Array.isArray(n) ? (n as string[]) : null;
        },
        () => null,
      );
      cache.set(gen, p);
    }
    return p;
  };
  // Read first, so a label that does not fit leaves the prediction open for a right one.
  const texts = await redis.mget(items.map((i) => keys.prediction(i.id)));
  const scored: { id: string; counts: [gen: number, field: string, by: number][] }[] = [];
  for (const [n, item] of items.entries()) {
    const text = texts[n];
    const parsed = text ? PredictionRecord.safeParse(JSON.parse(text)) : null;
    if (!parsed?.success || parsed.data.model !== model) {
      out.unknown.push(item.id);
      continue;
    }
    const rec = parsed.data;
    const answers = [{ gen: rec.gen, output: rec.output }, ...(rec.shadows ?? [])];
    const counts: [number, string, number][] = [];
    let why: string | undefined;
    for (const a of answers) {
      counts.push([a.gen, 'feedback', 1]);
      if (rec.kind === 'value') {
        const y = typeof item.label === 'number' ? item.label : Number(item.label);
        if (!Number.isFinite(y)) {
          why = `a regressor's label must be a number, not "${item.label}"`;
          break;
        }
        const err = a.output - y;
        counts.push(
          [a.gen, 'feedbackAbsErrSum', Math.abs(err)],
          [a.gen, 'feedbackSqErrSum', err * err],
        );
      } else {
        const c = await classIndex(item.label, a.gen, names);
        if (typeof c === 'string') {
          why = c;
          break;
        }
        if (c === a.output) counts.push([a.gen, 'feedbackCorrect', 1]);
      }
    }
    if (why !== undefined) out.invalid.push({ id: item.id, reason: why });
    else scored.push({ id: item.id, counts });
  }
  if (scored.length === 0) return out;
  const claimed = await claimPredictions(
    redis,
    keys,
    scored.map((s) => s.id),
  );
  const p = redis.pipeline();
  for (const [n, s] of scored.entries()) {
    const c = claimed[n];
    if (c === 'unknown') out.unknown.push(s.id);
    else if (c === 'duplicate') out.duplicate.push(s.id);
    else {
      out.accepted++;
      for (const [gen, field, by] of s.counts) {
        const key = keys.modelGenOnline(model, gen);
        if (Number.isInteger(by)) p.hincrby(key, field, by);
        else p.hincrbyfloat(key, field, by);
      }
    }
  }
  if (out.accepted > 0) await p.exec();
  return out;
}
