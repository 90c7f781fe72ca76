import type { Keys } from '../../shared/index.js';

// Keys owned by the listener, built beside `Keys` until the lead adds them to
// shared/store/keys.ts (the names below are the ones to keep).

/** string: id of the last event the listener fully processed */
export function cursorKey(keys: Keys): string {
  return `${keys.prefix}:listener:cursor`;
}

/** hash: baseCount, baseVersion of one "N new samples" trigger (model × dataset) */
export function samplesTriggerKey(keys: Keys, model: string, dataset: string): string {
  return `${keys.prefix}:listener:retrain:{${model}}:${dataset}`;
}
