// The Redis store: model registry, dataset store, sessions, event log (docs/keys.md).
export * from './keys.js';
export { ModelRegistry } from './model-registry.js';
export type { ModelRegistryOptions, NewGeneration, GenerationPatch } from './model-registry.js';
export type { Generation, GenerationStatus, Lineage, ModelEvent, ModelInfo } from './generation.js';
export { DEFAULT_CHUNK_SIZE } from './weights-blob.js';
export { DatasetStore } from './dataset-store.js';
export type { DatasetStoreOptions } from './dataset-store.js';
export { VersionWriter } from './dataset-writer.js';
export type {
  CommitMeta,
  DatasetInfo,
  DatasetSummary,
  DatasetVersionMeta,
  ShardRef,
} from './dataset-meta.js';
export { encodeShard, decodeShard, encodedShardBytes, SHARD_HEADER_BYTES } from './shard-codec.js';
export { concatBatches, sliceBatch } from './shard-reader.js';
export type { ReadRange } from './shard-reader.js';
export { SessionStore } from './session-store.js';
export type { NewSession, SessionKind, SessionPatch, SessionRecord } from './session-store.js';
export {
  SESSION_STATES,
  TERMINAL_STATES,
  canTransition,
  isSessionState,
  isTerminal,
} from './session-state.js';
export type { SessionState } from './session-state.js';
export { EventLog } from './event-log.js';
export type { EventLogOptions, EventRange, NewEvent, StoredEvent } from './event-log.js';
export { checkName } from './names.js';
export { TokenLookup, tokenHash } from './token-lookup.js';
export type { TokenInfo, TokenLookupOptions } from './token-lookup.js';
export { REDIS_USERS, aclFile, aclRules, redisPassword, redisUrlFor } from './acl.js';
export type { RedisUser } from './acl.js';
