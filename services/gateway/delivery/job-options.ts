import type { JobsOptions } from 'bullmq';
import type { DeliveryChannel } from '../../../shared/index.js';

/** Retries when a channel names none: 5 tries, 1 s then doubling (1, 2, 4, 8 s). */
export const DEFAULT_RETRY = { attempts: 5, backoffMs: 1000 } as const;

/** BullMQ options for a delivery to `ch` (its retry policy, exponential backoff). */
export function jobOptions(ch: DeliveryChannel | undefined): JobsOptions {
  const r = ch?.retry ?? DEFAULT_RETRY;
  return {
    attempts: r.attempts,
    backoff: { type: 'exponential', delay: r.backoffMs },
    removeOnComplete: true,
    // Kept until moved to the dead-letter queue, so a crash between the two loses nothing.
    removeOnFail: false,
  };
}
