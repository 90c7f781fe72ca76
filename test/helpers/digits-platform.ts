import { DatasetStore, Keys, ModelRegistry } from '../../shared/index.js';
import { storeDigits } from './datasets.js';
import { startTestPlatform, type TestPlatform } from './platform.js';
import { startTestRedis, type TestRedis } from './redis.js';

export interface DigitsPlatform {
  r: TestRedis;
  p: TestPlatform;
  keys: Keys;
  datasets: DatasetStore;
  registry: ModelRegistry;
  close(): Promise<void>;
}

/**
 * A fresh Redis and platform (handler and gateway in this process) with the real digits data
 * stored as dataset `digits`: where most session tests start.
 */
export async function startDigitsPlatform(
  opts: Parameters<typeof startTestPlatform>[1] = {},
): Promise<DigitsPlatform> {
  const r = await startTestRedis();
  let p: TestPlatform | undefined;
  try {
    p = await startTestPlatform(r, opts);
    const keys = new Keys(p.prefix);
    const datasets = new DatasetStore(r.client(), keys);
    await storeDigits(datasets, 'digits');
    const platform = p;
    return {
      r,
      p: platform,
      keys,
      datasets,
      registry: new ModelRegistry(r.client(), keys),
      async close() {
        await platform.close();
        await r.stop();
      },
    };
  } catch (err) {
    await p?.close();
    await r.stop();
    throw err;
  }
}
