import type { EvaluationRecord } from '../protocol/evaluation.js';
import { parseJson } from './names.js';
import type { BlobLayout } from './weights-blob.js';

export type GenerationStatus = 'candidate' | 'production' | 'archived' | 'rejected';

/** The dataset version a generation was trained on. */
export interface Lineage {
  dataset: string;
  version: number;
}

/** One generation of a model, as stored in `model:{name}:gen:<n>` (weights apart). */
export interface Generation {
  model: string;
  gen: number;
  status: GenerationStatus;
  /**
   * The figures its registrant reported (a trainer, an external worker, an uploader): kept
   * and shown, compared with the measured ones, never decisive.
   */
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  lineage: Lineage | null;
  /** hex sha256 of the weights */
  sha256: string;
  /** weights size in bytes */
  size: number;
  /** ISO time */
  created: string;
  reason?: string;
  io?: unknown;
  extra?: Record<string, unknown>;
  trigger?: string;
  sessionId?: string;
  /**
   * The generation it grew from: the one it was warm-started from, or the production
   * generation when it was registered (the one it was compared with); absent for a first.
   */
  parent?: number;
  /** what the platform measured on held-out rows (`generation.evaluated`); absent until then */
  evaluation?: EvaluationRecord;
}

export interface ModelInfo {
  name: string;
  type: string;
  description: string;
  production: number | null;
  /** ISO time */
  created: string;
  /** generations currently stored */
  generations: number;
}

/** Published on `keys.modelEventsChannel()` with every status change. */
export interface ModelEvent {
  model: string;
  gen: number;
  status: GenerationStatus | 'deleted';
}

export function generationFields(g: Generation, layout: BlobLayout): string[] {
  const f: Record<string, string> = {
    model: g.model,
    gen: String(g.gen),
    status: g.status,
    metrics: JSON.stringify(g.metrics),
    params: JSON.stringify(g.params),
    lineage: JSON.stringify(g.lineage),
    sha256: layout.sha256,
    size: String(layout.size),
    chunks: String(layout.chunks),
    chunkSize: String(layout.chunkSize),
    created: g.created,
  };
  if (g.io !== undefined) f.io = JSON.stringify(g.io);
  if (g.extra !== undefined) f.extra = JSON.stringify(g.extra);
  if (g.trigger !== undefined) f.trigger = g.trigger;
  if (g.sessionId !== undefined) f.sessionId = g.sessionId;
  if (g.parent !== undefined) f.parent = String(g.parent);
  return Object.entries(f).flat();
}

export function generationFromHash(h: Record<string, string>): Generation {
  const g: Generation = {
    model: h.model ?? '',
    gen: Number(h.gen),
    status: h.status as GenerationStatus,
    metrics: parseJson(h.metrics, {}),
    params: parseJson(h.params, {}),
    lineage: parseJson<Lineage | null>(h.lineage, null),
    sha256: h.sha256 ?? '',
    size: Number(h.size),
    created: h.created ?? '',
  };
  if (h.reason) g.reason = h.reason;
  if (h.io !== undefined) g.io = parseJson<unknown>(h.io, undefined);
  if (h.extra !== undefined) g.extra = parseJson(h.extra, {});
  if (h.trigger !== undefined) g.trigger = h.trigger;
  if (h.sessionId !== undefined) g.sessionId = h.sessionId;
  if (h.parent) g.parent = Number(h.parent);
  if (h.evaluation !== undefined) {
    const e = parseJson<EvaluationRecord | null>(h.evaluation, null);
    if (e) g.evaluation = e;
  }
  return g;
}

export function layoutFromHash(h: Record<string, string>): BlobLayout {
  return {
    size: Number(h.size),
    sha256: h.sha256 ?? '',
    chunks: Number(h.chunks),
    chunkSize: Number(h.chunkSize),
  };
}

export function modelInfoFromHash(
  name: string,
  h: Record<string, string>,
  generations: number,
): ModelInfo {
  return {
    name,
    type: h.type ?? '',
    description: h.description ?? '',
    production: h.production ? Number(h.production) : null,
    created: h.created ?? '',
    generations,
  };
}
