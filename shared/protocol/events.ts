import { z } from 'zod';

/** Every event kind the platform archives, with its payload schema. */
export const EpochPayload = z
  .object({
    epoch: z.number().int().min(1),
    epochs: z.number().int().min(1),
    /** null when the loss is not a finite number (NaN or infinite: JSON has no NaN) */
    loss: z.number().nullable(),
    trainAccuracy: z.number().optional(),
    valAccuracy: z.number().optional(),
    valLoss: z.number().optional(),
    samplesPerSec: z.number().optional(),
    elapsedMs: z.number().optional(),
  })
  // Any other numeric figure a trainer reports (macroF1, rmse, epochTimeS ...) is kept as
  // sent, so it is archived, served by the API and usable in rules; null stands for NaN.
  .catchall(z.number().nullable().optional())
  .superRefine((p, ctx) => {
    const extra = Object.keys(p).filter((k) => !EPOCH_BUILT_IN.has(k));
    if (extra.length > MAX_CUSTOM_METRICS) {
      ctx.addIssue({
        code: 'custom',
        message: `at most ${MAX_CUSTOM_METRICS} custom metrics per epoch, got ${extra.length}`,
        path: [],
      });
    }
    for (const k of extra) {
      if (!METRIC_NAME.test(k)) {
        ctx.addIssue({
          code: 'custom',
          message: `metric names are letters, digits, '_', '.' or '-' (at most 64, a letter first)`,
          path: [k],
        });
      }
    }
  });
export type EpochPayload = z.infer<typeof EpochPayload>;

/** How a custom metric may be named (an epoch payload key, a rules document key). */
export const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** The most custom metrics one epoch event may carry. */
export const MAX_CUSTOM_METRICS = 32;
const EPOCH_BUILT_IN = new Set([
  'epoch',
  'epochs',
  'loss',
  'trainAccuracy',
  'valAccuracy',
  'valLoss',
  'samplesPerSec',
  'elapsedMs',
]);

export const CandidatePayload = z.object({
  model: z.string(),
  gen: z.number().int(),
  metrics: z.record(z.string(), z.number()),
});

/** How far a batch job (batch inference) has got. */
export const ProgressPayload = z.object({
  done: z.number().int().min(0),
  total: z.number().int().min(0),
  rowsPerSec: z.number().min(0),
});
export type ProgressPayload = z.infer<typeof ProgressPayload>;

export const DecisionPayload = z.object({
  action: z.enum(['stop', 'accept', 'reject', 'flag']),
  reason: z.string(),
  rule: z.string().optional(),
  model: z.string().optional(),
  gen: z.number().int().optional(),
});
export type DecisionPayload = z.infer<typeof DecisionPayload>;

export const EVENT_KINDS = [
  'session.queued',
  'session.state',
  'session.started',
  'session.finished',
  'epoch',
  'log',
  'generation.candidate',
  'generation.evaluated',
  'generation.promoted',
  'generation.rejected',
  // staged rollout (docs/rollout.md)
  'rollout.started',
  'rollout.gate',
  'rollout.step',
  'rollout.promoted',
  'rollout.rolled-back',
  'rollout.superseded',
  'rollout.paused',
  'rollout.resumed',
  'rollout.aborted',
  'decision',
  'worker.flagged',
  'security.denied',
  'config.changed',
  'delivery.dead',
  'delivery.replayed',
  'delivery.dropped',
  'delivery.skipped',
  'plugin.loaded',
  'plugin.failed',
  'source.started',
  'source.stopped',
  'source.failed',
  'source.appended',
  'source.rejected',
  'dataset.version',
  'retrain.triggered',
  'serving.drift',
  'worker.exiting',
  'progress',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What a worker may post about its own session (HTTP or WS); the rest come from services. */
export const WorkerEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('session.started'),
    payload: z.record(z.string(), z.unknown()).default({}),
  }),
  z.object({ kind: z.literal('epoch'), payload: EpochPayload }),
  z.object({
    kind: z.literal('log'),
    payload: z.object({ lines: z.array(z.string().max(4000)).max(200) }),
  }),
  z.object({ kind: z.literal('generation.candidate'), payload: CandidatePayload }),
  z.object({ kind: z.literal('progress'), payload: ProgressPayload }),
  // Sent last: lets a handler that re-adopted the worker after a restart (and so cannot
  // read its exit status) learn the exit code; `reason` says why a failing worker gave up.
  z.object({
    kind: z.literal('worker.exiting'),
    payload: z.object({
      exitCode: z.number().int(),
      reason: z.string().max(1000).optional(),
    }),
  }),
]);
export type WorkerEvent = z.infer<typeof WorkerEvent>;
