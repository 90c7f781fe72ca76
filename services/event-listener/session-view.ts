import type { StoredEvent } from '../../shared/index.js';

/** One epoch as the rules see it; NaN stands for a loss that was NaN, null or infinite. */
export interface EpochPoint {
  epoch: number;
  loss: number;
  valLoss?: number;
  /** every other numeric figure of the epoch (valAccuracy, macroF1 ...); NaN as for loss */
  metrics?: Record<string, number>;
}

/**
 * What the rules need to know about one live session, folded from its events. Everything
 * here can be rebuilt by replaying the archive, so it lives in memory only.
 */
export interface SessionView {
  sessionId: string;
  model?: string;
  /** ms since the epoch */
  startedAt?: number;
  timeBudgetS?: number;
  /** indexed by arrival; an epoch re-sent replaces its earlier point */
  epochs: EpochPoint[];
  /** a stop was decided (or archived) already: one stop per session is enough */
  stopDecided: boolean;
  finished: boolean;
}

/** At most this many epochs are kept; the rise and plateau windows are far shorter. */
const MAX_EPOCHS = 10_000;

export function emptyView(sessionId: string): SessionView {
  return { sessionId, epochs: [], stopDecided: false, finished: false };
}

const TERMINAL = ['succeeded', 'failed', 'stopped'];

/**
 * Fills in what a session record knows, for a session first seen mid-way (or, for an event
 * archived after its end, one already finished: no rule fires on it and no clock watches it).
 */
export function viewFromRecord(
  sessionId: string,
  rec: { request: unknown; started?: string; state?: string },
): SessionView {
  const view = emptyView(sessionId);
  applyRequest(view, rec.request);
  if (rec.started) view.startedAt = Date.parse(rec.started);
  if (rec.state !== undefined && TERMINAL.includes(rec.state)) view.finished = true;
  return view;
}

/** Folds one event into the view (pure: answers a new view). */
export function observe(view: SessionView, e: StoredEvent): SessionView {
  const next: SessionView = { ...view, epochs: view.epochs };
  const p = (e.payload ?? {}) as Record<string, unknown>;
  switch (e.kind) {
    case 'session.queued':
      applyRequest(next, p.request);
      break;
    case 'session.started':
      next.startedAt ??= Date.parse(e.time);
      break;
    case 'session.state':
      if (p.state === 'running') next.startedAt ??= Date.parse(e.time);
      if (typeof p.state === 'string' && TERMINAL.includes(p.state)) {
        next.finished = true;
      }
      break;
    case 'epoch':
      next.epochs = withEpoch(view.epochs, toPoint(p));
      next.startedAt ??= Date.parse(e.time);
      break;
    case 'session.finished':
      next.finished = true;
      break;
    case 'decision':
      if (p.action === 'stop') next.stopDecided = true;
      break;
  }
  return next;
}

function applyRequest(view: SessionView, request: unknown): void {
  if (typeof request !== 'object' || request === null) return;
  const r = request as Record<string, unknown>;
  if (typeof r.model === 'string') view.model = r.model;
  if (typeof r.timeBudgetS === 'number') view.timeBudgetS = r.timeBudgetS;
}

// JSON cannot carry NaN: a trainer's NaN loss arrives as null (or as the string "NaN").
function lossValue(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

function toPoint(p: Record<string, unknown>): EpochPoint {
  const point: EpochPoint = {
    epoch: typeof p.epoch === 'number' ? p.epoch : 0,
    loss: lossValue(p.loss),
  };
  if ('valLoss' in p && p.valLoss !== undefined) point.valLoss = lossValue(p.valLoss);
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'epoch' || k === 'epochs' || k === 'loss' || k === 'valLoss') continue;
    if (typeof v === 'number' || v === null) metrics[k] = lossValue(v);
  }
  if (Object.keys(metrics).length > 0) point.metrics = metrics;
  return point;
}

function withEpoch(epochs: EpochPoint[], point: EpochPoint): EpochPoint[] {
  const last = epochs[epochs.length - 1];
  const base = last && point.epoch > 0 && last.epoch === point.epoch ? epochs.slice(0, -1) : epochs;
  const out = [...base, point];
  return out.length > MAX_EPOCHS ? out.slice(out.length - MAX_EPOCHS) : out;
}
