// Example business-rule plugin: deliver only predictions made inside working hours (UTC),
// e.g. to page a human only when someone is there. Used from a rule condition as
// { "plugin": { "name": "business-hours", "config": { "fromHour": 8, "toHour": 18 } } }.

/** @type {import('../../services/gateway/plugins/types.ts').RulePlugin} */
export default {
  kind: 'rule',
  name: 'business-hours',
  version: '1.0.0',
  description:
    'true when the prediction time falls in [fromHour, toHour) UTC, on weekdays unless weekends',
  configSchema: (z) =>
    z
      .strictObject({
        fromHour: z.number().int().min(0).max(23),
        toHour: z.number().int().min(1).max(24),
        weekends: z.boolean().default(false),
      })
      .refine((c) => c.fromHour < c.toHour, {
        message: 'fromHour must be before toHour',
        path: ['toHour'],
      }),
  create({ fromHour, toHour, weekends }) {
    return {
      test(p) {
        const t = new Date(p.time);
        const day = t.getUTCDay();
        if (!weekends && (day === 0 || day === 6)) return false;
        const h = t.getUTCHours();
        return h >= fromHour && h < toHour;
      },
    };
  },
};
