import { randomInt } from 'node:crypto';
import { portFree } from '../../shared/runtime/net.js';

/**
 * A base port whose next `count` ports are all free, for a process that listens on
 * consecutive ports (local mode: gateway, serving, intake, event handler). Taken below
 * Linux's ephemeral range (32768+), where outgoing connections of other tests cannot be
 * holding one of them.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = randomInt(20_000, 32_000 - count);
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await portFree(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found below 32000`);
}
