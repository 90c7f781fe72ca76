import { z } from 'zod';

/**
 * Schemas of the live-configurable delivery documents (`rules`, `delivery`, `sources`) and
 * of the delivery job payload. Used by the API (PUT /api/v1/config/...) and by the workers.
 * Cross-document checks (a rule naming an unknown channel, a plugin's own config) happen in
 * services/gateway/delivery/validate-config.ts, which reports them with the same paths.
 */

// ── prediction paths used by templates, CSV columns and conditions ─────────
const ID = '[A-Za-z_$][\\w$-]*';
const OUTPUT_FIELD = '(?:argmax|max|min|data|datatype|shape|data\\.\\d+)';
const PATH_RULES: readonly RegExp[] = [
  /^(?:id|model|generation|time|rule)$/,
  new RegExp(`^inputs\\.metadata(?:\\.(?:${ID}|\\d+))+$`),
  new RegExp(`^inputs\\.shapes\\.${ID}$`),
  new RegExp(`^outputs\\.${ID}\\.${OUTPUT_FIELD}$`),
  new RegExp(`^output\\.${OUTPUT_FIELD}$`),
];

/** The prediction fields a template or CSV column may name, for error messages. */
export const PREDICTION_PATHS_HELP =
  'id | model | generation | time | rule | inputs.metadata.<key>[.<key>...] | inputs.shapes.<name> | ' +
  'outputs.<name>.(argmax|max|min|data|data.<i>|datatype|shape) | output.<same fields> (first output)';

/** True when `path` names a field a prediction can have. */
export function isPredictionPath(path: string): boolean {
  return PATH_RULES.some((r) => r.test(path));
}

/** `{{path}}` placeholders inside a template string. */
export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function checkPlaceholders(s: string, ctx: z.RefinementCtx, path: (string | number)[]): void {
  for (const m of s.matchAll(PLACEHOLDER)) {
    const p = m[1] ?? '';
    if (!isPredictionPath(p)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `unknown prediction field "${p}"; known: ${PREDICTION_PATHS_HELP}`,
      });
    }
  }
}

function checkTemplate(v: unknown, ctx: z.RefinementCtx, path: (string | number)[]): void {
  if (typeof v === 'string') checkPlaceholders(v, ctx, path);
  else if (Array.isArray(v)) v.forEach((x, i) => checkTemplate(x, ctx, [...path, i]));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) checkTemplate(x, ctx, [...path, k]);
  }
}

const predictionPath = z.string().refine(isPredictionPath, {
  message: `unknown prediction field; known: ${PREDICTION_PATHS_HELP}`,
});

const Name = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'letters, digits, _ . - (at most 64)')
  .describe('identifier');

// ── conditions ─────────────────────────────────────────────────────────────
/**
 * A no-code condition on a prediction. Every key present must hold (AND); `any` is an OR of
 * sub-conditions, `not` negates one. An empty object always matches.
 */
export const DeliveryCondition = z
  .strictObject({
    output: z
      .string()
      .min(1)
      .optional()
      .describe('output tensor the score tests read; default first'),
    topClassIn: z
      .array(z.number().int().nonnegative())
      .min(1)
      .optional()
      .describe('argmax of the output is one of these class ids'),
    maxScoreOver: z.number().optional().describe('max value of the output is > this'),
    maxScoreUnder: z.number().optional().describe('max value of the output is < this'),
    metadataEquals: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('each inputs.metadata key equals the value'),
    generationAtLeast: z.number().int().nonnegative().optional(),
    plugin: z
      .strictObject({ name: Name, config: z.unknown().optional() })
      .optional()
      .describe('a business-rule plugin decides'),
    get any() {
      return z
        .array(DeliveryCondition)
        .min(1)
        .optional()
        .describe('at least one sub-condition holds');
    },
    get not() {
      return DeliveryCondition.optional().describe('the sub-condition does not hold');
    },
  })
  .describe('condition on a prediction (all keys must hold)');
export type DeliveryCondition = z.infer<typeof DeliveryCondition>;

// ── rules document ─────────────────────────────────────────────────────────
export const DeliveryRule = z
  .strictObject({
    id: Name.describe('rule id, unique in the document'),
    enabled: z.boolean().default(true),
    model: z.string().min(1).describe('model name, or "*" for every model'),
    when: DeliveryCondition.optional().describe('condition; absent means every prediction'),
    sample: z.number().min(0).max(1).default(1).describe('fraction of matches sent (0..1)'),
    channel: Name.describe('channel id in the delivery document'),
    formatter: Name.describe('formatter id in the delivery document'),
  })
  .describe('which predictions go to which channel through which formatter');
export type DeliveryRule = z.infer<typeof DeliveryRule>;

/** Refinement for any document with `rules`: rule ids are unique (errors at rules.N.id). */
export function uniqueRuleIds(doc: { rules: { id: string }[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  doc.rules.forEach((r, i) => {
    if (seen.has(r.id)) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate id "${r.id}"` });
    }
    seen.add(r.id);
  });
}

export const DeliveryRulesDoc = z
  .strictObject({ rules: z.array(DeliveryRule).max(1000) })
  .superRefine(uniqueRuleIds)
  .describe('delivery rules (live config kind "rules")');
export type DeliveryRulesDoc = z.infer<typeof DeliveryRulesDoc>;

// ── formatters ─────────────────────────────────────────────────────────────
const JsonFormatter = z
  .strictObject({ type: z.literal('json') })
  .describe('the whole prediction as JSON');

const TemplateFormatter = z
  .strictObject({
    type: z.literal('template'),
    template: z
      .json()
      .describe('JSON shape of the payload; strings "{{path}}" are replaced, other values kept'),
    contentType: z.string().min(1).default('application/json'),
  })
  .superRefine((f, ctx) => checkTemplate(f.template, ctx, ['template']))
  .describe('JSON template: field mapping, renaming, nesting, constants');

const CsvFormatter = z
  .strictObject({
    type: z.literal('csv'),
    columns: z.array(predictionPath).min(1).describe('prediction paths, one per column'),
    separator: z.string().length(1).default(','),
    contentType: z.string().min(1).default('text/csv'),
  })
  .describe('one CSV line per prediction');

const PluginFormatter = z
  .strictObject({
    type: z.literal('plugin'),
    plugin: Name.describe('formatter plugin name'),
    config: z.unknown().optional().describe("validated by the plugin's own schema"),
  })
  .describe('a code-level formatter from the plugins folder');

export const DeliveryFormatter = z.discriminatedUnion('type', [
  JsonFormatter,
  TemplateFormatter,
  CsvFormatter,
  PluginFormatter,
]);
export type DeliveryFormatter = z.infer<typeof DeliveryFormatter>;

// ── channels ───────────────────────────────────────────────────────────────
export const DeliveryRetryPolicy = z
  .strictObject({
    attempts: z.number().int().min(1).max(50).default(5).describe('tries before dead-lettering'),
    backoffMs: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(1000)
      .describe('first delay; doubles'),
  })
  .describe('retries with exponential backoff');
export type DeliveryRetryPolicy = z.infer<typeof DeliveryRetryPolicy>;

const url = (protocols: string[]) =>
  z.url().refine((u) => URL.canParse(u) && protocols.includes(new URL(u).protocol), {
    message: `protocol must be one of ${protocols.join(', ')}`,
  });

const WebhookChannel = z
  .strictObject({
    type: z.literal('webhook'),
    url: url(['http:', 'https:']),
    secret: z
      .string()
      .min(8)
      .optional()
      .describe('HMAC-SHA256 key; signs the body in X-Swarmml-Signature: sha256=<hex>'),
    headers: z.record(z.string(), z.string()).optional(),
    timeoutMs: z.number().int().min(1).max(120_000).default(5000),
    retry: DeliveryRetryPolicy.optional(),
  })
  .describe('HTTP POST; non-2xx or timeout is a failure and is retried');

const MqttChannel = z
  .strictObject({
    type: z.literal('mqtt'),
    url: url(['mqtt:', 'mqtts:', 'ws:', 'wss:']),
    topic: z
      .string()
      .min(1)
      .refine((t) => !/[+#]/.test(t), 'no wildcards in a publish topic'),
    qos: z.union([z.literal(1), z.literal(2)]).default(1),
    retain: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
    timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
    retry: DeliveryRetryPolicy.optional(),
  })
  .describe('MQTT publish, QoS 1 or 2, acknowledged by the broker');

const AmqpChannel = z
  .strictObject({
    type: z.literal('amqp'),
    url: url(['amqp:', 'amqps:']),
    exchange: z.string().default('').describe('"" is the default exchange (routingKey = queue)'),
    routingKey: z.string().min(1),
    persistent: z.boolean().default(true),
    timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
    retry: DeliveryRetryPolicy.optional(),
  })
  .describe('AMQP 0-9-1 publish on a confirm channel');

const WsChannel = z
  .strictObject({
    type: z.literal('ws'),
    topic: z.string().min(1).describe('WebSocket topic subscribers name'),
    retry: DeliveryRetryPolicy.optional(),
  })
  .describe('published to WebSocket subscribers of a topic');

export const DeliveryChannel = z.discriminatedUnion('type', [
  WebhookChannel,
  MqttChannel,
  AmqpChannel,
  WsChannel,
]);
export type DeliveryChannel = z.infer<typeof DeliveryChannel>;

export const DeliveryDoc = z
  .strictObject({
    channels: z.record(Name, DeliveryChannel).describe('channels by id'),
    formatters: z.record(Name, DeliveryFormatter).describe('formatters by id'),
  })
  .describe('channels and formatters (live config kind "delivery")');
export type DeliveryDoc = z.infer<typeof DeliveryDoc>;

// ── sources ────────────────────────────────────────────────────────────────
const messagePath = z
  .string()
  .regex(/^[\w$-]+(?:\.[\w$-]+)*$/, 'a dotted path into the message, e.g. "sensor.temp" or "v.0"');

const JsonMapping = z
  .strictObject({
    format: z.literal('json'),
    features: z
      .union([z.array(messagePath).min(1), z.strictObject({ array: messagePath })])
      .describe('paths of numeric fields, or {array: path} of a numeric array'),
    label: messagePath.describe('path of the label (number or string)'),
  })
  .describe('JSON message → features and label');

const CsvMapping = z
  .strictObject({
    format: z.literal('csv'),
    separator: z.string().length(1).default(','),
    features: z.array(z.number().int().nonnegative()).min(1).describe('column indexes'),
    label: z.number().int().nonnegative().describe('column index of the label'),
  })
  .superRefine((m, ctx) => {
    if (m.features.includes(m.label)) {
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'label column is also a feature' });
    }
    if (new Set(m.features).size !== m.features.length) {
      ctx.addIssue({ code: 'custom', path: ['features'], message: 'duplicate column' });
    }
  })
  .describe('CSV line → features and label');

export const SourceMapping = z.discriminatedUnion('format', [JsonMapping, CsvMapping]);
export type SourceMapping = z.infer<typeof SourceMapping>;

export const SourceBatch = z
  .strictObject({
    maxRows: z.number().int().min(1).max(100_000).default(100),
    maxDelayMs: z.number().int().min(1).max(60_000).default(200),
  })
  .describe('rows are appended in batches of at most maxRows, at most maxDelayMs late');

const common = {
  id: Name.describe('source id, unique'),
  enabled: z.boolean().default(true),
  dataset: Name.describe('dataset the samples are appended to'),
  batch: SourceBatch.optional(),
};

const MqttSource = z
  .strictObject({
    ...common,
    type: z.literal('mqtt'),
    url: url(['mqtt:', 'mqtts:', 'ws:', 'wss:']),
    topic: z.string().min(1).describe('topic filter; wildcards allowed'),
    username: z.string().optional(),
    password: z.string().optional(),
    mapping: SourceMapping,
  })
  .describe('an MQTT topic feeding a dataset');

const HttpSource = z
  .strictObject({ ...common, type: z.literal('http'), mapping: SourceMapping })
  .describe('POST /api/v1/sources/{id}/push feeding a dataset');

const PluginSource = z
  .strictObject({
    ...common,
    type: z.literal('plugin'),
    plugin: Name,
    config: z.unknown().optional(),
  })
  .describe('a code-level source from the plugins folder');

export const DataSource = z.discriminatedUnion('type', [MqttSource, HttpSource, PluginSource]);
export type DataSource = z.infer<typeof DataSource>;

export const DataSourcesDoc = z
  .strictObject({ sources: z.array(DataSource).max(200) })
  .superRefine((doc, ctx) => {
    const seen = new Set<string>();
    doc.sources.forEach((s, i) => {
      if (seen.has(s.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'id'],
          message: `duplicate id "${s.id}"`,
        });
      }
      seen.add(s.id);
    });
  })
  .describe('live data sources (live config kind "sources")');
export type DataSourcesDoc = z.infer<typeof DataSourcesDoc>;

// ── jobs and the dead-letter queue ────────────────────────────────────────
export const DeliveryJob = z
  .strictObject({
    ruleId: z.string(),
    channel: z.string().describe('channel id, resolved against the live config at send time'),
    predictionId: z.string(),
    payload: z.string().describe('formatted body'),
    contentType: z.string(),
    enqueuedAt: z.number().describe('ms since epoch, for latency figures'),
  })
  .describe('one delivery of one formatted prediction to one channel');
export type DeliveryJob = z.infer<typeof DeliveryJob>;

export const DeadDelivery = z
  .object({
    id: z.string(),
    job: DeliveryJob,
    failedReason: z.string(),
    attempts: z.number().int(),
    failedAt: z.number(),
  })
  .describe('a delivery whose retries are exhausted');
export type DeadDelivery = z.infer<typeof DeadDelivery>;

export const DeadReplayRequest = z
  .union([
    z.strictObject({ ids: z.array(z.string()).min(1) }),
    z.strictObject({ all: z.literal(true) }),
  ])
  .describe('dead deliveries to replay: some ids, or all');
export type DeadReplayRequest = z.infer<typeof DeadReplayRequest>;

/** The live-config kinds this module owns, with their schemas. */
export const DELIVERY_CONFIG_SCHEMAS = {
  rules: DeliveryRulesDoc,
  delivery: DeliveryDoc,
  sources: DataSourcesDoc,
} as const;
export type DeliveryConfigKind = keyof typeof DELIVERY_CONFIG_SCHEMAS;
