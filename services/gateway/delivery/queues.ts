/**
 * BullMQ queue names of the delivery path. A name is a storage key: renaming one strands
 * the jobs already queued (and dead-lettered) under the old name.
 */
export const DELIVERY_QUEUES = {
  /** one job per (prediction, rule): { ruleId, channel, payload, ... } (DeliveryJob) */
  deliveries: 'deliveries',
  /** deliveries whose retries are exhausted; no worker, read and replayed from the API/CLI */
  dead: 'deliveries-dead',
} as const;
