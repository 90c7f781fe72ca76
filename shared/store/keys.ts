/**
 * The only place that builds Redis keys (docs/keys.md draws the tree).
 * `{name}` braces are Redis Cluster hash tags: all keys of one model or one dataset
 * share a slot, so MULTI/EXEC and Lua over them stay legal on a cluster.
 * Renaming a key here strands data already stored under the old name.
 */
export class Keys {
  constructor(readonly prefix: string = 'swarmml') {}

  private k(...parts: (string | number)[]): string {
    return [this.prefix, ...parts].join(':');
  }

  // ── model registry ────────────────────────────────────────────────
  /** set of all model names */
  models() {
    return this.k('models');
  }
  /** set of model names of one type */
  modelsByType(type: string) {
    return this.k('models', 'type', type);
  }
  /** hash: type, description, production, created, nextGen */
  model(name: string) {
    return this.k('model', `{${name}}`);
  }
  /** sorted set: generation numbers scored by number */
  modelGens(name: string) {
    return this.k('model', `{${name}}`, 'gens');
  }
  /** hash: status, metrics, params, lineage, sha256, size, created, chunks */
  modelGen(name: string, gen: number) {
    return this.k('model', `{${name}}`, 'gen', gen);
  }
  /** weights bytes [i*chunkSize, (i+1)*chunkSize) of a generation */
  modelGenBlob(name: string, gen: number, chunk: number) {
    return this.k('model', `{${name}}`, 'gen', gen, 'blob', chunk);
  }
  /** onnxruntime-optimised weights of a generation, present only when they passed the check */
  modelGenOptimized(name: string, gen: number) {
    return this.k('model', `{${name}}`, 'gen', gen, 'optimized');
  }
  /** taken by the one serving replica that optimises a generation */
  modelGenOptimizeLock(name: string, gen: number) {
    return this.k('model', `{${name}}`, 'gen', gen, 'optimize-lock');
  }
  /** lock taken while promoting one model */
  modelPromoteLock(name: string) {
    return this.k('model', `{${name}}`, 'promote-lock');
  }
  /** string: the model's RolloutState JSON (shared/protocol/rollout.ts) while one exists */
  modelRollout(name: string) {
    return this.k('model', `{${name}}`, 'rollout');
  }
  /** hash: version label (`stable`, `canary`, any name) → generation number */
  modelLabels(name: string) {
    return this.k('model', `{${name}}`, 'labels');
  }
  /** hash: a generation's cumulative online counters (ONLINE_FIELDS, `lat:<ms>` buckets) */
  modelGenOnline(name: string, gen: number) {
    return this.k('model', `{${name}}`, 'gen', gen, 'online');
  }
  /** set of generations an operator loaded through the repository API (served off-policy) */
  modelLoaded(name: string) {
    return this.k('model', `{${name}}`, 'loaded');
  }
  /** string: the model's version policy JSON (shared/protocol/version-policy.ts); absent: the default */
  modelVersionPolicy(name: string) {
    return this.k('model', `{${name}}`, 'version-policy');
  }
  /** string: one answer's PredictionRecord JSON, with a TTL, for joining ground truth */
  prediction(id: string) {
    return this.k('pred', id);
  }
  /**
   * Pub/sub channel (not a key): `{model, gen, status}` JSON on every status change,
   * published atomically with the change, so serving workers can follow promotions.
   */
  modelEventsChannel() {
    return this.k('pub', 'models');
  }

  // ── serving ───────────────────────────────────────────────────────
  /** set of model names serving replicas load; empty or holding `*` means every model */
  servingAssignment() {
    return this.k('serving', 'assignment');
  }
  /** list: a model's recent serving figures (JSON samples, newest first, capped), for the dashboard */
  servingHistory(model: string) {
    return this.k('serving', 'history', model);
  }
  /** Pub/sub channel (not a key): serving control messages (assignment, optimised weights). */
  servingChannel() {
    return this.k('pub', 'serving');
  }
  /** float32 outputs of one batch-inference chunk, until the session collects them */
  batchInferChunk(sessionId: string, chunk: number) {
    return this.k('batch', sessionId, 'chunk', chunk);
  }

  // ── datasets ──────────────────────────────────────────────────────
  datasets() {
    return this.k('datasets');
  }
  /** hash: latest, nextVersion, created */
  dataset(name: string) {
    return this.k('dataset', `{${name}}`);
  }
  /** sorted set of committed version numbers */
  datasetVersions(name: string) {
    return this.k('dataset', `{${name}}`, 'versions');
  }
  /** hash of committed metadata (JSON fields) */
  datasetVersion(name: string, v: number) {
    return this.k('dataset', `{${name}}`, `v${v}`);
  }
  /** binary shard i of a version */
  datasetShard(name: string, v: number, i: number) {
    return this.k('dataset', `{${name}}`, `v${v}`, 'shard', i);
  }
  /** staging area of an upload in progress: shards written here, renamed on commit */
  datasetStaging(name: string, uploadId: string) {
    return this.k('dataset', `{${name}}`, 'staging', uploadId);
  }
  datasetStagingShard(name: string, uploadId: string, i: number) {
    return this.k('dataset', `{${name}}`, 'staging', uploadId, 'shard', i);
  }
  /**
   * set of versions whose shard lists reference version v's own shards (v itself included
   * while its metadata exists); v's shard keys are deleted when it empties
   */
  datasetShardHolders(name: string, v: number) {
    return this.k('dataset', `{${name}}`, `v${v}`, 'holders');
  }
  /** set of `[model, gen]` JSON members whose lineage points at this version */
  datasetVersionModels(name: string, v: number) {
    return this.k('dataset', `{${name}}`, `v${v}`, 'models');
  }

  // ── sessions and events ───────────────────────────────────────────
  sessions() {
    return this.k('sessions');
  }
  /** sorted set of session ids in one state, scored by created ms */
  sessionsByState(state: string) {
    return this.k('sessions', 'state', state);
  }
  session(id: string) {
    return this.k('session', id);
  }
  /** highest worker event seq archived for a session (dedupes resent events) */
  sessionSeq(id: string) {
    return this.k('session', id, 'seq');
  }
  /** string: the session worker's last checkpoint (opaque bytes), kept until the session ends */
  sessionCheckpoint(id: string) {
    return this.k('session', id, 'checkpoint');
  }
  /** decisions already carried out, by cause event id (dedupes repeated decisions) */
  decisionDone(causeId: string, action: string) {
    return this.k('decision', causeId, action);
  }
  events() {
    return this.k('events');
  }

  // ── event listener ────────────────────────────────────────────────
  /** string: id of the last event the listener fully processed */
  listenerCursor() {
    return this.k('listener', 'cursor');
  }
  /** hash: baseCount, baseVersion of one "N new samples" retrain trigger (model × dataset) */
  listenerSamplesTrigger(model: string, dataset: string) {
    return this.k('listener', 'retrain', `{${model}}`, dataset);
  }

  // ── configuration, tokens, misc ───────────────────────────────────
  config(kind: string) {
    return this.k('config', kind);
  }
  configHistory(kind: string) {
    return this.k('config', kind, 'history');
  }
  tokens() {
    return this.k('tokens');
  }
  /**
   * Pub/sub channel (not a key): the id of each revoked API token, so every gateway closes
   * the WebSockets open with it at once.
   */
  tokenRevocationsChannel() {
    return this.k('pub', 'token-revocations');
  }
  /** BullMQ prefix: queues live under `<prefix>:bull:<queue>` */
  bullPrefix() {
    return this.k('bull');
  }
}
