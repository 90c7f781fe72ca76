import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { BOOTSTRAP_ALPHAS } from '../evaluation/metrics.js';
import { HIGHER_IS_BETTER, MEASURED_METRICS } from './evaluation.js';
import { METRIC_NAME } from './events.js';
import { DEFAULT_ROLLOUT_POLICY, RolloutPolicy, type RolloutGates } from './rollout.js';
import { ModelName } from './sessions.js';

/**
 * The live-config kind the decision rules are stored under (`PUT /api/v1/rules`). Not
 * 'rules': that kind is the delivery rules' (`/api/v1/config/rules`).
 */
export const RULES_CONFIG_KIND = 'decision-rules';

// Each section is partial: what a document leaves out takes the defaults below, and a
// per-model override takes the document's section. Unknown keys are errors, so a typo
// ("plateuEpochs") is a 400 rather than a rule silently not applied.

const epochs = z.number().int().min(1).max(10_000);

/** An epoch figure's name: a built-in one (loss, valLoss ...) or a custom metric. */
export const MetricName = z.string().regex(METRIC_NAME, 'a metric name');

/** Which way a custom metric is better, declared once for every rule that names it. */
export const MetricDeclaration = z
  .object({ higherIsBetter: z.boolean().describe('true: larger values are better') })
  .strict();
export type MetricDeclaration = z.infer<typeof MetricDeclaration>;

/** The directions of the figures trainers report without a declaration. */
const KNOWN_DIRECTIONS: Readonly<Record<string, boolean>> = Object.freeze({
  ...HIGHER_IS_BETTER,
  loss: false,
  valLoss: false,
  trainAccuracy: true,
  valAccuracy: true,
});

/** Whether a larger value of `metric` is better; undefined when nobody said. */
export function metricHigherIsBetter(
  metric: string,
  declared: Readonly<Record<string, MetricDeclaration>> = {},
): boolean | undefined {
  return Object.hasOwn(declared, metric)
    ? declared[metric]!.higherIsBetter
    : Object.hasOwn(KNOWN_DIRECTIONS, metric)
      ? KNOWN_DIRECTIONS[metric]
      : undefined;
}

export const StopRules = z
  .object({
    nanLoss: z.boolean().describe('stop when the loss is NaN or infinite'),
    lossRiseEpochs: epochs
      .nullable()
      .describe('stop when the loss rose in each of this many consecutive epochs; null: never'),
    plateauEpochs: epochs
      .nullable()
      .describe(
        'stop when the best loss has not improved by plateauMinDelta for this many epochs; null: never',
      ),
    plateauMinDelta: z
      .number()
      .min(0)
      .describe('the smallest fall of the best loss that counts as an improvement'),
    lossMetric: MetricName.describe(
      "which epoch figure the rise and plateau rules watch: loss, valLoss or any metric the worker reports (a custom one's direction declared in `metrics`; for a higher-is-better figure 'rose' means 'fell')",
    ),
    timeBudget: z.boolean().describe("stop a session that ran past its request's timeBudgetS"),
  })
  .partial()
  .strict();
export type StopRules = z.infer<typeof StopRules>;

export const FlagRules = z
  .object({
    nonZeroExit: z
      .boolean()
      .describe('flag a worker that exited with a non-zero code or was killed by a signal'),
    ignoreStopped: z
      .boolean()
      .describe('do not flag the exit of a session that was stopped on purpose'),
  })
  .partial()
  .strict();
export type FlagRules = z.infer<typeof FlagRules>;

/** The measured figures a rule can name; `valAccuracy` and `valLoss` are earlier names. */
export const AcceptMetric = z.enum([...MEASURED_METRICS, 'valAccuracy', 'valLoss']);
export type AcceptMetric = z.infer<typeof AcceptMetric>;

export const SignificanceRules = z
  .object({
    test: z
      .enum(['none', 'mcnemar', 'bootstrap'])
      .describe(
        "what a candidate's gain over production must pass: McNemar's exact test (classifiers, accuracy) or a bootstrap interval",
      ),
    alpha: z
      .number()
      .refine((a) => (BOOTSTRAP_ALPHAS as readonly number[]).includes(a), {
        message: `alpha must be one of ${BOOTSTRAP_ALPHAS.join(', ')}`,
      })
      .describe('the significance level (one-sided): 0.01, 0.025, 0.05 or 0.1'),
    maxRows: z
      .number()
      .int()
      .min(1)
      .nullable()
      .describe('test only when the held-out set has at most this many rows; null: always'),
  })
  .partial()
  .strict();
export type SignificanceRules = z.infer<typeof SignificanceRules>;

export const AcceptRules = z
  .object({
    metric: z
      .union([z.literal('auto'), AcceptMetric])
      .describe(
        'the measured figure that decides; auto: accuracy for classifiers, rmse for regression',
      ),
    higherIsBetter: z
      .boolean()
      .nullable()
      .describe("which way the metric is better; null: the metric's own direction"),
    margin: z
      .number()
      .min(0)
      .describe('how much better than production the candidate must be (strictly more)'),
    minValue: z.number().nullable().describe('reject a candidate whose metric is below this'),
    maxValue: z.number().nullable().describe('reject a candidate whose metric is above this'),
    tieBreak: z
      .union([z.literal('auto'), AcceptMetric])
      .nullable()
      .describe(
        'the figure that decides a tie with production; auto: logLoss for classifiers, mae for regression; null: a tie is rejected',
      ),
    baselineMargin: z
      .number()
      .min(0)
      .nullable()
      .describe(
        'how much the candidate must beat the trivial baseline by (accuracy for classifiers, R² for regression); null: no baseline check',
      ),
    reportedTolerance: z
      .number()
      .min(0)
      .nullable()
      .describe(
        'how far a reported figure may overstate the measured one before the candidate is flagged and rejected; null: not checked',
      ),
    significance: SignificanceRules.describe('a significance test for the gain over production'),
  })
  .partial()
  .strict();
export type AcceptRules = z.infer<typeof AcceptRules>;

/**
 * How an accepted candidate reaches production when the model already has one
 * (docs/rollout.md): the contract's policy, each field optional, gates merged field by field.
 */
export const RolloutRules = RolloutPolicy.describe(
  'how an accepted candidate reaches production: direct, shadow and/or canary',
);
export type RolloutRules = z.infer<typeof RolloutRules>;

export const ModelRules = z
  .object({ stop: StopRules, flag: FlagRules, accept: AcceptRules, rollout: RolloutRules })
  .partial()
  .strict();
export type ModelRules = z.infer<typeof ModelRules>;

export const RetrainRule = z
  .object({
    model: ModelName,
    dataset: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/, 'a dataset name, without @version')
      .describe('the dataset whose growth (or the latest version of which) retrains the model'),
    newSamples: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('queue a session when this many new labelled samples have arrived'),
    cron: z
      .string()
      .max(200)
      .optional()
      .describe('queue a session on this schedule (cron, 5 or 6 fields, UTC)'),
    onlineAccuracyBelow: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "queue a session when the production generation's online accuracy (ground truth posted as feedback) falls below this",
      ),
    onlineAccuracyDrop: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'queue a session when the online accuracy falls below the accuracy the platform measured on held-out rows by more than this',
      ),
    minFeedback: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100)
      .describe('labels per window over which online accuracy is judged'),
    trainer: z.enum(['mlp', 'softmax']).default('mlp'),
    params: z.record(z.string(), z.unknown()).default({}),
    device: z.enum(['cpu', 'gpu']).default('cpu'),
    priority: z.number().int().min(1).max(100).default(50),
    timeBudgetS: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
  })
  .strict()
  .superRefine((r, ctx) => {
    const online = r.onlineAccuracyBelow !== undefined || r.onlineAccuracyDrop !== undefined;
    if (r.newSamples === undefined && r.cron === undefined && !online) {
      ctx.addIssue({
        code: 'custom',
        message: 'give newSamples, cron, onlineAccuracyBelow or onlineAccuracyDrop',
        path: [],
      });
    }
    if (r.cron !== undefined) {
      const problem = cronProblem(r.cron);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['cron'] });
    }
  });
export type RetrainRule = z.infer<typeof RetrainRule>;

/**
 * The decision rules of the event-listener: one JSON document, versioned, changeable at
 * runtime. Everything is optional; `effectiveRules` fills in {@link DEFAULT_RULES}.
 */
export const RulesDocument = z
  .object({
    stop: StopRules.optional(),
    flag: FlagRules.optional(),
    accept: AcceptRules.optional(),
    metrics: z
      .record(MetricName, MetricDeclaration)
      .optional()
      .describe(
        "custom metrics' directions (e.g. macroF1: {higherIsBetter: true}); built-in figures need none",
      ),
    rollout: RolloutRules.optional(),
    retrain: z.array(RetrainRule).max(200).default([]).describe('retraining triggers per model'),
    perModel: z
      .record(ModelName, ModelRules)
      .default({})
      .describe('per-model overrides of stop, flag, accept and rollout'),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const watched: [string | undefined, (string | number)[]][] = [
      [doc.stop?.lossMetric, ['stop', 'lossMetric']],
      ...Object.entries(doc.perModel).map(([m, r]): [string | undefined, (string | number)[]] => [
        r.stop?.lossMetric,
        ['perModel', m, 'stop', 'lossMetric'],
      ]),
    ];
    for (const [metric, path] of watched) {
      if (metric !== undefined && metricHigherIsBetter(metric, doc.metrics) === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `declare which way ${metric} is better: metrics.${metric}.higherIsBetter`,
          path,
        });
      }
    }
    const seen = new Set<string>();
    doc.retrain.forEach((r, i) => {
      const key = `${r.model}|${r.dataset}|${r.cron ?? ''}|${r.newSamples ?? ''}|${r.onlineAccuracyBelow ?? ''}|${r.onlineAccuracyDrop ?? ''}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', message: 'duplicate retrain rule', path: ['retrain', i] });
      }
      seen.add(key);
    });
  })
  .describe('event-listener decision rules');
export type RulesDocument = z.infer<typeof RulesDocument>;
export type RulesDocumentInput = z.input<typeof RulesDocument>;

/** Rules with every field filled in, as the engine reads them for one model. */
export interface EffectiveRules {
  stop: Required<StopRules>;
  flag: Required<FlagRules>;
  /** the document's custom metric declarations */
  metrics: Record<string, MetricDeclaration>;
  accept: Required<Omit<AcceptRules, 'significance'>> & {
    significance: Required<SignificanceRules>;
  };
  rollout: EffectiveRollout;
}

/** A rollout policy with every knob and gate filled in. */
export type EffectiveRollout = Required<Omit<RolloutPolicy, 'gates'>> & {
  gates: Required<RolloutGates>;
};

const defaults: EffectiveRules = {
  stop: {
    nanLoss: true,
    lossRiseEpochs: 3,
    plateauEpochs: 5,
    plateauMinDelta: 1e-4,
    lossMetric: 'loss',
    timeBudget: true,
  },
  flag: { nonZeroExit: true, ignoreStopped: true },
  metrics: {},
  accept: {
    metric: 'auto',
    higherIsBetter: null,
    margin: 0,
    minValue: null,
    maxValue: null,
    tieBreak: 'auto',
    baselineMargin: 0.02,
    reportedTolerance: 0.02,
    significance: { test: 'none', alpha: 0.05, maxRows: null },
  },
  rollout: {
    ...DEFAULT_ROLLOUT_POLICY,
    canarySteps: [...DEFAULT_ROLLOUT_POLICY.canarySteps],
    gates: { ...DEFAULT_ROLLOUT_POLICY.gates },
  },
};
export const DEFAULT_RULES: Readonly<EffectiveRules> = Object.freeze(defaults);

/** Defaults, then the document's sections, then the model's overrides. */
export function effectiveRules(doc: RulesDocument | null, model?: string): EffectiveRules {
  const over = model === undefined ? undefined : doc?.perModel[model];
  return {
    stop: { ...DEFAULT_RULES.stop, ...doc?.stop, ...over?.stop },
    flag: { ...DEFAULT_RULES.flag, ...doc?.flag, ...over?.flag },
    metrics: { ...doc?.metrics },
    accept: {
      ...DEFAULT_RULES.accept,
      ...doc?.accept,
      ...over?.accept,
      significance: {
        ...DEFAULT_RULES.accept.significance,
        ...doc?.accept?.significance,
        ...over?.accept?.significance,
      },
    },
    rollout: {
      ...DEFAULT_RULES.rollout,
      ...doc?.rollout,
      ...over?.rollout,
      gates: { ...DEFAULT_RULES.rollout.gates, ...doc?.rollout?.gates, ...over?.rollout?.gates },
    },
  };
}

/** Why a cron expression cannot be used, or undefined when it can. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return `expected 5 or 6 cron fields, got ${fields}`;
  try {
    CronExpressionParser.parse(expr, { tz: 'UTC' });
    return undefined;
  } catch (err) {
    return `invalid cron expression: ${(err as Error).message}`;
  }
}
