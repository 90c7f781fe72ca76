/**
 * The traffic side of a rollout, on every inference route: picks the generation that
 * answers a production-path request (the sticky canary split), names the answer (a
 * prediction id, the generation), counts what each generation did, mirrors the request to
 * shadows and keeps a record of the answer for ground truth to join later. Requests to an
 * explicit version or label are answered by that generation and only get an id and a record.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AppError,
  GENERATION_HEADER,
  PREDICTION_ID_HEADER,
  type Logger,
  type PredictionRecord,
} from '../../../shared/index.js';
import type { InferResult, Servable } from '../hosting/servable.js';
import type { TensorMap } from '../tensors/tensors.js';
import { requestKey, toChallenger } from './canary-split.js';
import type { OnlineRecorder } from './online-recorder.js';
import { summarize } from './output-summary.js';
import type { RolloutViews } from './rollout-views.js';
import type { ShadowMirror } from './shadow-mirror.js';

/** The longest id a client may choose (FeedbackBody's limit); longer ones get a fresh id. */
const MAX_ID = 128;

export interface TrafficOptions {
  log: Logger;
  /** absent without Redis (tests, benchmarks): ids and headers only */
  views?: RolloutViews;
  recorder?: OnlineRecorder;
  mirror?: ShadowMirror;
  /**
   * The production generation of a model host; undefined for pipelines and models without
   * one (splits, shadows and counters apply to models only)
   */
  production: (name: string) => number | undefined;
}

export interface Answered extends InferResult {
  /** the prediction id the answer carries */
  id: string;
}

export class Traffic {
  constructor(private readonly opts: TrafficOptions) {}

  /** the generation a label names, for the label routes; undefined when none */
  label(model: string, label: string): number | undefined {
    return this.opts.views?.view(model).labels[label];
  }

  /**
   * Answers one inference request: `version` undefined is the production path (split and
   * mirrored while a rollout runs). `clientId` is the id the request carried (KServe `id`).
   */
  async infer(
    req: IncomingMessage,
    res: ServerResponse,
    model: string,
    servable: Servable,
    inputs: TensorMap,
    version: number | undefined,
    clientId?: string,
  ): Promise<Answered> {
    const id = clientId && clientId.length <= MAX_ID ? clientId : randomUUID();
    const { views, recorder, mirror } = this.opts;
    const prod = version === undefined ? this.opts.production(model) : undefined;
    const live = prod !== undefined;
    const rollout = live ? views?.view(model).active : undefined;
    let gen = version;
    if (
      rollout?.phase === 'canary' &&
      servable.ready(rollout.challenger) &&
      toChallenger(requestKey(req), model, rollout.challenger, rollout.canaryPercent)
    ) {
      gen = rollout.challenger;
    }
    const started = performance.now();
    let result: InferResult;
    try {
      result = await servable.infer(inputs, gen);
    } catch (err) {
      // A client's bad request says nothing about the generation; a failure to answer does.
      if (live && recorder && !isClientError(err)) {
        recorder.request(model, gen ?? prod, performance.now() - started, false);
      }
      throw err;
    }
    const ms = performance.now() - started;
    res.setHeader(PREDICTION_ID_HEADER, id);
    if (result.gen !== undefined) res.setHeader(GENERATION_HEADER, String(result.gen));
    if (!recorder || result.gen === undefined) return { ...result, id };
    if (live) recorder.request(model, result.gen, ms, true);
    const summary = summarize(result.outputs);
    if (!summary) return { ...result, id };
    const record: PredictionRecord = {
      model,
      gen: result.gen,
      output: summary.rows[0] ?? NaN,
      kind: summary.kind,
      at: Date.now(),
    };
    const shadows = rollout && mirror ? new Set(rollout.shadows) : new Set<number>();
    if (rollout?.phase === 'shadow') shadows.add(rollout.challenger);
    shadows.delete(result.gen);
    let waiting = 0;
    const finish = () => {
      if (--waiting === 0) recorder.prediction(id, record);
    };
    if (rollout && mirror) {
      const { shadowFraction, shadowQueue, shadowTimeoutMs } = rollout.policy;
      for (const s of shadows) {
        if (shadowFraction < 1 && Math.random() >= shadowFraction) continue;
        waiting++;
        const queued = mirror.offer(
          {
            model,
            gen: s,
            inputs,
            primary: summary,
            timeoutMs: shadowTimeoutMs,
            done: (g, out) => {
              const o = out?.rows[0];
              if (o !== undefined) (record.shadows ??= []).push({ gen: g, output: o });
              finish();
            },
          },
          shadowQueue,
        );
        if (!queued) waiting--;
      }
    }
    if (waiting === 0) recorder.prediction(id, record);
    return { ...result, id };
  }
}

function isClientError(err: unknown): boolean {
  return err instanceof AppError && err.status >= 400 && err.status < 500 && err.status !== 429;
}
