// Bridge until shared/index.ts re-exports the store, queues and protocol modules; then every
// import of './shared-deps.js' becomes '../../shared/index.js' and this file goes.
/* eslint-disable no-restricted-imports */
export { EventLog } from '../../shared/store/event-log.js';
export type { StoredEvent, NewEvent } from '../../shared/store/event-log.js';
export { SessionStore } from '../../shared/store/session-store.js';
export type { SessionRecord } from '../../shared/store/session-store.js';
export { ModelRegistry } from '../../shared/store/model-registry.js';
export { DatasetStore } from '../../shared/store/dataset-store.js';
export { isTerminal, SESSION_STATES } from '../../shared/store/session-state.js';
export type { SessionState } from '../../shared/store/session-state.js';
export { QUEUES } from '../../shared/queues.js';
export { CreateSessionRequest, SessionJob } from '../../shared/protocol/sessions.js';
export type { CreateSessionInput } from '../../shared/protocol/sessions.js';
export { CandidatePayload, DecisionPayload } from '../../shared/protocol/events.js';
export type {
  HandlerServerMessage,
  HandlerClientMessage,
} from '../../shared/protocol/handler-ws.js';
export {
  RulesDocument,
  RetrainRule,
  RULES_CONFIG_KIND,
  effectiveRules,
} from '../../shared/protocol/rules.js';
export type { EffectiveRules, RulesDocumentInput } from '../../shared/protocol/rules.js';
