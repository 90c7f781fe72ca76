/**
 * Staged rollout (docs/rollout.md): the contract between the event listener, which runs a
 * rollout (steps, gates, promotion, rollback), serving, which splits and mirrors traffic as
 * the state says and counts what each generation did, and the gateway, which shows it and
 * takes operators' commands and ground truth.
 *
 * Redis holds all of it, so any of the three can restart mid-rollout:
 * - `Keys.modelRollout(m)`: the RolloutState JSON, rewritten only with a compare-and-set on
 *   `revision` (shared/store/rollout-store.ts);
 * - `Keys.modelLabels(m)`: hash label → generation (`stable`, `canary`, or any name);
 * - `Keys.modelGenOnline(m, g)`: hash of cumulative counters (ONLINE_FIELDS) that serving
 *   and the feedback route increment; the listener reads deltas between gate readings;
 * - `Keys.prediction(id)`: PredictionRecord JSON with a TTL, for joining ground truth.
 * Every change of a rollout's state is announced on the serving channel as
 * `{type: 'rollout', model}` so replicas re-read it at once.
 */
import { z } from 'zod';

/** How a passing challenger reaches production. */
export const RolloutMode = z.enum(['direct', 'shadow', 'canary', 'shadow-then-canary']);
export type RolloutMode = z.infer<typeof RolloutMode>;

const fraction = z.number().min(0).max(1);

/** Gate thresholds; null turns a gate off. Checked once a step has `minSamples` requests. */
export const RolloutGates = z
  .object({
    maxErrorRate: fraction.nullable().describe("the challenger's error rate over a step"),
    maxP99Ratio: z
      .number()
      .positive()
      .nullable()
      .describe("the challenger's p99 latency over production's in the same step"),
    minAgreement: fraction
      .nullable()
      .describe('the share of mirrored or split requests where both gave the same answer'),
    maxAccuracyDrop: fraction
      .nullable()
      .describe("how far the challenger's online accuracy may fall below production's"),
    minFeedback: z
      .number()
      .int()
      .min(0)
      .describe('ground-truth labels needed per generation before the accuracy gate counts'),
  })
  .partial()
  .strict();
export type RolloutGates = z.infer<typeof RolloutGates>;

export const RolloutPolicy = z
  .object({
    mode: RolloutMode,
    shadowFraction: fraction.describe('the share of live requests mirrored to each shadow'),
    shadowQueue: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .describe('mirrored requests waiting, at most'),
    shadowTimeoutMs: z.number().int().min(1).max(60_000),
    canarySteps: z
      .array(z.number().min(0).max(100))
      .min(1)
      .describe('canary traffic percentages, stepped up in order; the last is usually 100'),
    minSamples: z
      .number()
      .int()
      .min(1)
      .describe('requests to the challenger before a gate reading counts'),
    stepIntervalS: z.number().min(0.1).describe('seconds between gate readings'),
    gates: RolloutGates,
  })
  .partial()
  .strict();
export type RolloutPolicy = z.infer<typeof RolloutPolicy>;

const DEFAULT_MODE: RolloutMode = 'shadow-then-canary';

export const DEFAULT_ROLLOUT_POLICY = Object.freeze({
  mode: DEFAULT_MODE,
  shadowFraction: 1,
  shadowQueue: 1024,
  shadowTimeoutMs: 2000,
  canarySteps: [10, 50, 100],
  minSamples: 100,
  stepIntervalS: 10,
  gates: {
    maxErrorRate: 0.01,
    maxP99Ratio: 2,
    minAgreement: null as number | null,
    maxAccuracyDrop: 0.02,
    minFeedback: 30,
  },
});

export const RolloutStatus = z.enum(['running', 'paused', 'promoted', 'rolled-back', 'aborted']);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/** One gate reading, archived with each step (event `rollout.gate`). */
export const GateReading = z.object({
  gate: z.string(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  passed: z.boolean().nullable().describe('null: not enough samples yet'),
});
export type GateReading = z.infer<typeof GateReading>;

export const RolloutState = z.object({
  model: z.string(),
  /** incremented on every write; writers compare-and-set on it */
  revision: z.number().int().min(0),
  status: RolloutStatus,
  production: z.number().int().min(1).nullable(),
  challenger: z.number().int().min(1),
  /** generations mirrored to, besides or instead of the challenger */
  shadows: z.array(z.number().int().min(1)),
  phase: z.enum(['shadow', 'canary', 'done']),
  /** index into policy.canarySteps while phase is canary */
  step: z.number().int().min(0),
  /** the challenger's share of live traffic now, 0..100 */
  canaryPercent: z.number().min(0).max(100),
  policy: RolloutPolicy.required(),
  startedAt: z.number(),
  stepStartedAt: z.number(),
  /** counters of both generations when the step began, to read the step's deltas */
  stepBaseline: z.record(z.string(), z.record(z.string(), z.number())),
  lastReadings: z.array(GateReading),
  reason: z.string().nullable(),
  /** counters of both generations when the rollout began (online accuracy reads from here) */
  startBaseline: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  /** when the gates were last read (ms); the next reading is due stepIntervalS later */
  readAt: z.number().optional(),
  /** when it was promoted, rolled back or aborted (ms) */
  endedAt: z.number().optional(),
  /** who ended or paused it: `gates`, or the operator's token name */
  by: z.string().optional(),
});
export type RolloutState = z.infer<typeof RolloutState>;

/** The counters in `Keys.modelGenOnline`. Latency buckets are fields `lat:<upper ms>`. */
export const ONLINE_FIELDS = [
  'requests',
  'errors',
  'latencyMsSum',
  'shadowSent',
  'shadowDropped',
  'shadowErrors',
  'shadowCompared',
  'shadowAgreed',
  'feedback',
  'feedbackCorrect',
  /** regressors: sums of |prediction - label| and its square over labelled answers */
  'feedbackAbsErrSum',
  'feedbackSqErrSum',
] as const;
export type OnlineField = (typeof ONLINE_FIELDS)[number];

/** Upper bounds (ms) of the latency histogram buckets in `Keys.modelGenOnline`. */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000,
] as const;

/** What serving keeps of each answer, so ground truth posted later can be joined to it. */
export const PredictionRecord = z.object({
  model: z.string(),
  gen: z.number().int().min(1),
  /** the answered class index (classifiers) or the first output value (regression) */
  output: z.number(),
  /** which of the two `output` is; absent in records written before it was kept */
  kind: z.enum(['class', 'value']).optional(),
  /** shadows' answers to the same request, once compared */
  shadows: z.array(z.object({ gen: z.number().int().min(1), output: z.number() })).optional(),
  at: z.number(),
});
export type PredictionRecord = z.infer<typeof PredictionRecord>;

/** `POST /api/v1/models/{m}/feedback`: one label or many. */
const FeedbackItem = z.object({
  id: z.string().min(1).max(128),
  label: z.union([z.number(), z.string().min(1).max(256)]),
});
export const FeedbackBody = z.union([FeedbackItem, z.array(FeedbackItem).min(1).max(10_000)]);
export type FeedbackBody = z.infer<typeof FeedbackBody>;

/** The header a client sets so one client always sees one generation during a canary. */
export const REQUEST_KEY_HEADER = 'x-request-key';
/** Set by the gateway from the caller's token when the client set no request key. */
export const CLIENT_KEY_HEADER = 'x-swarmml-client';
/** The header every inference answer carries with its prediction id (also in KServe's `id`). */
export const PREDICTION_ID_HEADER = 'x-prediction-id';
/** The header naming the generation that answered. */
export const GENERATION_HEADER = 'x-swarmml-generation';
