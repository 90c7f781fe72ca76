import { z } from 'zod';
import {
  DataSourcesDoc,
  DeliveryDoc,
  DeliveryRule,
  uniqueRuleIds,
  RulesDocument,
  RULES_CONFIG_KIND,
} from '../../../shared/index.js';

/**
 * The `delivery` live-config document: channels, formatters and the rules that connect them,
 * in one version, so a rule can never point at a channel of another version. (The decision
 * rules of the event-listener are a different document: `/api/v1/config/rules`.)
 */
export const DeliveryConfig = DeliveryDoc.extend({
  rules: z
    .array(DeliveryRule)
    .max(1000)
    .default([])
    .describe('which predictions go to which channel through which formatter'),
})
  .superRefine(uniqueRuleIds)
  .describe('delivery: channels, formatters and rules (live config kind "delivery")');
export type DeliveryConfig = z.infer<typeof DeliveryConfig>;

/**
 * The documents behind `/api/v1/config/{kind}`: the public kind, the live-config kind it is
 * stored under, and its schema. `rules` is the event-listener's decision rules, the same
 * document as `/api/v1/rules`.
 */
export const CONFIG_DOCUMENTS = {
  rules: { stored: RULES_CONFIG_KIND, schema: RulesDocument },
  delivery: { stored: 'delivery', schema: DeliveryConfig },
  sources: { stored: 'sources', schema: DataSourcesDoc },
} as const;
export type ConfigKind = keyof typeof CONFIG_DOCUMENTS;
