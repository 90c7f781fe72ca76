// Example formatter plugin: a prediction as one InfluxDB line-protocol record, for a
// time-series store fed over a webhook or MQTT. Plain JS: the plugins folder is loaded at
// run time, with no build step.

const escape = (s) => String(s).replace(/[ ,=]/g, (c) => `\\${c}`);

/** @type {import('../../services/gateway/plugins/types.ts').FormatterPlugin} */
export default {
  kind: 'formatter',
  name: 'influx-line',
  version: '1.0.0',
  description: 'InfluxDB line protocol: <measurement>,model=<m> class=<argmax>i,score=<max> <ns>',
  configSchema: (z) =>
    z.strictObject({
      measurement: z.string().min(1).default('predictions'),
      output: z.string().optional(),
    }),
  create(config) {
    const { measurement, output } = config;
    return {
      format(p) {
        const out = output ? p.outputs.find((o) => o.name === output) : p.outputs[0];
        if (!out) throw new Error(`prediction ${p.id} has no output ${output ?? '(first)'}`);
        const data = out.data.map(Number);
        let best = 0;
        for (let i = 1; i < data.length; i++) if (data[i] > data[best]) best = i;
        const ns = BigInt(Date.parse(p.time)) * 1_000_000n;
        const payload =
          `${escape(measurement)},model=${escape(p.model)},generation=${p.generation} ` +
          `class=${best}i,score=${data[best]} ${ns}`;
        return { payload, contentType: 'text/plain' };
      },
    };
  },
};
