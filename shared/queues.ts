/**
 * BullMQ queue names. A name is a storage key: renaming one strands the jobs already
 * queued under the old name.
 */
export const QUEUES = {
  /** session requests: gateway → event-handler (priorities honoured) */
  sessions: 'sessions',
  /** decisions: event-listener → event-handler */
  decisions: 'decisions',
  /** scheduled retraining (repeatable jobs) */
  retrain: 'retrain',
  /** batch inference chunks: event-handler → serving */
  batchInfer: 'batch-infer',
} as const;
