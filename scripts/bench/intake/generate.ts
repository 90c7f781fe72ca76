import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes a dense-ish libsvm file (90% of `features` present, ±1 labels) of at least
 * `targetBytes`, the same bytes for the same arguments; answers the row count.
 */
export async function generateLibsvm(
  file: string,
  targetBytes: number,
  features: number,
): Promise<number> {
  const out = createWriteStream(file);
  let written = 0;
  let rows = 0;
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 0x1_0000_0000;
  };
  while (written < targetBytes) {
    const lines: string[] = [];
    for (let r = 0; r < 1000; r++) {
      const parts = [rand() < 0.5 ? '-1' : '+1'];
      for (let k = 1; k <= features; k++) {
        if (rand() < 0.9) parts.push(`${k}:${(rand() * 2 - 1).toFixed(6)}`);
      }
      lines.push(parts.join(' '));
      rows++;
    }
    const chunk = lines.join('\n') + '\n';
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}
