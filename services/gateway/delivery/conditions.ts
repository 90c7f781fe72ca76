import type { DeliveryCondition, Prediction } from '../../../shared/index.js';
import { argmax, pickOutput } from './prediction-fields.js';

/** Decides a business-rule plugin condition; answers false when the plugin fails. */
export type PluginTest = (name: string, config: unknown, p: Prediction) => Promise<boolean>;

/**
 * Evaluates a no-code condition. Pure apart from `pluginTest`, which is only called when the
 * condition names a plugin (and only after the cheap checks passed, so plugins see fewer calls).
 */
export async function matches(
  c: DeliveryCondition | undefined,
  p: Prediction,
  pluginTest?: PluginTest,
): Promise<boolean> {
  if (!c) return true;
  if (c.topClassIn || c.maxScoreOver !== undefined || c.maxScoreUnder !== undefined) {
    const out = pickOutput(p, c.output);
    if (!out || out.data.length === 0) return false;
    if (c.topClassIn && !c.topClassIn.includes(argmax(out.data))) return false;
    const max = Math.max(...out.data.map(Number));
    if (c.maxScoreOver !== undefined && !(max > c.maxScoreOver)) return false;
    if (c.maxScoreUnder !== undefined && !(max < c.maxScoreUnder)) return false;
  }
  if (c.generationAtLeast !== undefined && p.generation < c.generationAtLeast) return false;
  if (c.metadataEquals) {
    const meta = p.inputs?.metadata ?? {};
    for (const [k, v] of Object.entries(c.metadataEquals)) if (meta[k] !== v) return false;
  }
  if (c.not && (await matches(c.not, p, pluginTest))) return false;
  if (c.any) {
    let some = false;
    for (const sub of c.any) {
      if (await matches(sub, p, pluginTest)) {
        some = true;
        break;
      }
    }
    if (!some) return false;
  }
  if (c.plugin) {
    if (!pluginTest) return false;
    if (!(await pluginTest(c.plugin.name, c.plugin.config, p))) return false;
  }
  return true;
}

/** Plugin names a condition refers to, with the path of each reference. */
export function pluginRefs(
  c: DeliveryCondition | undefined,
  path: (string | number)[],
): { name: string; config: unknown; path: (string | number)[] }[] {
  if (!c) return [];
  return [
    ...(c.plugin
      ? [{ name: c.plugin.name, config: c.plugin.config, path: [...path, 'plugin'] }]
      : []),
    ...pluginRefs(c.not, [...path, 'not']),
    ...(c.any ?? []).flatMap((s, i) => pluginRefs(s, [...path, 'any', i])),
  ];
}
