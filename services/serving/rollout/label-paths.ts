/**
 * Version labels on the inference routes, as TF Serving names them: a path through a label
 * is the same path through the generation the label points at, so every version route
 * (predict, infer, metadata, ready) takes labels without knowing about them.
 * - TF Serving: `/v1/models/{m}/labels/{label}[:predict|/metadata]`
 * - KServe v2:  `/v2/models/{m}/labels/{label}[/infer|/ready|/config]`
 */
import { NotFound } from '../../../shared/index.js';

const TF = /^(\/v1\/models\/[^/:]+)\/labels\/([^/:]+)((?:\/metadata|:[a-z]+)?\/?)$/;
const V2 = /^(\/v2\/models\/[^/]+)\/labels\/([^/]+)((?:\/(?:ready|config|infer))?\/?)$/;

/** `path` with a label replaced by `/versions/<gen>`; unchanged when it names no label. */
export function resolveLabelPath(
  path: string,
  labelled: (model: string, label: string) => number | undefined,
  labels: (model: string) => string[],
): string {
  if (!path.includes('/labels/')) return path;
  const m = TF.exec(path) ?? V2.exec(path);
  if (!m) return path;
  const model = decodeURIComponent(m[1]!.slice(m[1]!.lastIndexOf('/') + 1));
  const label = decodeURIComponent(m[2]!);
  const gen = labelled(model, label);
  if (gen === undefined) {
    const known = labels(model);
    throw new NotFound(
      `model "${model}" has no version label "${label}"; labels: ${known.join(', ') || 'none'}`,
    );
  }
  return `${m[1]}/versions/${gen}${m[3]}`;
}
