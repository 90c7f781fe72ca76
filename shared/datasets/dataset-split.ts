import { BadInput } from '../errors.js';

/** Recorded in a dataset version's metadata so every reader splits the same way. */
export interface SplitInfo {
  seed: number;
  validationFraction: number;
  trainCount: number;
  validationCount: number;
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkArgs(seed: number, fraction: number): void {
  if (!Number.isInteger(seed)) throw new BadInput(`split seed must be an integer, got ${seed}`);
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new BadInput(`validation fraction must be within 0..1, got ${fraction}`);
  }
}

function rowHash(seedHash: number, rowIndex: number): number {
  let h = fmix32((seedHash ^ rowIndex) >>> 0);
  // Indices past 2^32 fold their high bits in, so they do not repeat the low rows' choices.
  const hi = Math.floor(rowIndex / 0x1_0000_0000);
  if (hi > 0) h = fmix32((h ^ hi) >>> 0);
  return h;
}

const seedHashOf = (seed: number): number => fmix32((seed ^ 0x9e3779b9) >>> 0);

/**
 * Whether row `rowIndex` belongs to the validation set: a pure function of (seed, index),
 * so the trainer and any reader agree without storing a permutation. Each row is chosen
 * independently with probability `fraction`; the realised count is close to, not exactly,
 * `fraction * count` (see `splitInfo` for the exact counts).
 */
export function isValidationRow(seed: number, fraction: number, rowIndex: number): boolean {
  checkArgs(seed, fraction);
  return rowHash(seedHashOf(seed), rowIndex) < fraction * 0x1_0000_0000;
}

/** `isValidationRow` for `rows` consecutive rows from `firstRow`: 1 = validation. */
export function validationMask(
  seed: number,
  fraction: number,
  firstRow: number,
  rows: number,
): Uint8Array {
  checkArgs(seed, fraction);
  const s = seedHashOf(seed);
  const bound = fraction * 0x1_0000_0000;
  const mask = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) mask[i] = rowHash(s, firstRow + i) < bound ? 1 : 0;
  return mask;
}

/** Exact train/validation counts of a dataset of `count` rows. */
export function splitInfo(seed: number, fraction: number, count: number): SplitInfo {
  checkArgs(seed, fraction);
  const s = seedHashOf(seed);
  const bound = fraction * 0x1_0000_0000;
  let validationCount = 0;
  for (let i = 0; i < count; i++) if (rowHash(s, i) < bound) validationCount++;
  return {
    seed,
    validationFraction: fraction,
    trainCount: count - validationCount,
    validationCount,
  };
}
