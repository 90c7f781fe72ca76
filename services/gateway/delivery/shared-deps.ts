// Bridge until shared/index.ts re-exports './protocol/rules.js' (the event-listener has the
// same bridge); then these come from '../../../shared/index.js' and this file goes.
/* eslint-disable no-restricted-imports */
export { RulesDocument, RULES_CONFIG_KIND } from '../../../shared/protocol/rules.js';
export {
  DataSourcesDoc,
  DeliveryDoc,
  DeliveryRule,
  type DeliveryRulesDoc,
} from '../../../shared/index.js';
