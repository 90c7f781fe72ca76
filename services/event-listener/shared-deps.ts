// Bridge until shared/index.ts re-exports './protocol/rules.js'; then imports of
// './shared-deps.js' become '../../shared/index.js' and this file goes.
/* eslint-disable no-restricted-imports */
export {
  RulesDocument,
  RetrainRule,
  RULES_CONFIG_KIND,
  effectiveRules,
} from '../../shared/protocol/rules.js';
export type { EffectiveRules, RulesDocumentInput } from '../../shared/protocol/rules.js';
