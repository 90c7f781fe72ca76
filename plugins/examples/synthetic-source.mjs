// Example source plugin: emits synthetic labelled samples on a timer (two Gaussian blobs),
// for demos of the retraining trigger without any device attached.

/** @type {import('../../services/gateway/plugins/types.ts').SourcePlugin} */
export default {
  kind: 'source',
  name: 'synthetic-blobs',
  version: '1.0.0',
  description: 'rowsPerTick samples every intervalMs: dim features around class centres 0 and 1',
  configSchema: (z) =>
    z.strictObject({
      intervalMs: z.number().int().min(10).default(1000),
      rowsPerTick: z.number().int().min(1).max(10_000).default(10),
      dim: z.number().int().min(1).max(1024).default(4),
      seed: z.number().int().default(1),
    }),
  create({ intervalMs, rowsPerTick, dim, seed }, ctx) {
    let s = seed >>> 0 || 1;
    // xorshift32: reproducible without a dependency
    const rand = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296;
    };
    const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
    let timer;
    const tick = () => {
      const rows = Array.from({ length: rowsPerTick }, () => {
        const label = rand() < 0.5 ? 0 : 1;
        return { features: Array.from({ length: dim }, () => label * 2 + gauss() * 0.5), label };
      });
      ctx.emit(rows).catch((err) => ctx.warn(`emit failed: ${err}`));
    };
    return {
      start() {
        timer = setInterval(tick, intervalMs);
        tick();
      },
      stop() {
        clearInterval(timer);
      },
    };
  },
};
