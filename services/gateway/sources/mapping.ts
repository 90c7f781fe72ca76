import { jsonTooDeepAt, MAX_JSON_DEPTH, type SourceMapping } from '../../../shared/index.js';
import type { SampleRow } from './sample-sink.js';

export type Mapped = { ok: true; row: SampleRow } | { ok: false; error: string };

function at(obj: unknown, path: string): unknown {
  let v = obj;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function label(v: unknown): number | string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  return undefined;
}

function fromJson(m: Extract<SourceMapping, { format: 'json' }>, msg: unknown): Mapped {
  const features: number[] = [];
  if (Array.isArray(m.features)) {
    for (const p of m.features) {
      const n = num(at(msg, p));
      if (n === undefined) return { ok: false, error: `${p}: not a finite number` };
      features.push(n);
    }
  } else {
    const arr = at(msg, m.features.array);
    if (!Array.isArray(arr) || arr.length === 0) {
      return { ok: false, error: `${m.features.array}: not a non-empty array` };
    }
    for (let i = 0; i < arr.length; i++) {
      const n = num(arr[i]);
      if (n === undefined)
        return { ok: false, error: `${m.features.array}.${i}: not a finite number` };
      features.push(n);
    }
  }
  const l = label(at(msg, m.label));
  if (l === undefined) return { ok: false, error: `${m.label}: missing label` };
  return { ok: true, row: { features, label: l } };
}

function fromCsv(m: Extract<SourceMapping, { format: 'csv' }>, line: string): Mapped {
  const cells = line.replace(/\r?\n$/, '').split(m.separator);
  const features: number[] = [];
  for (const c of m.features) {
    const n = num(cells[c]);
    if (n === undefined) return { ok: false, error: `column ${c}: not a finite number` };
    features.push(n);
  }
  const l = label(cells[m.label]);
  if (l === undefined) return { ok: false, error: `column ${m.label}: missing label` };
  return { ok: true, row: { features, label: l } };
}

/**
 * Maps one message (an MQTT payload, one element of an HTTP push) to a sample. A message
 * that doesn't fit is rejected with the reason, never half-appended.
 */
export function mapMessage(m: SourceMapping, msg: unknown): Mapped {
  const text = Buffer.isBuffer(msg) ? msg.toString('utf8') : msg;
  if (m.format === 'csv') {
    if (typeof text !== 'string') return { ok: false, error: 'expected a CSV line' };
    return fromCsv(m, text);
  }
  if (typeof text === 'string') {
    if (jsonTooDeepAt(text) >= 0) {
      return { ok: false, error: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    }
    try {
      return fromJson(m, JSON.parse(text));
    } catch {
      return { ok: false, error: 'not JSON' };
    }
  }
  return fromJson(m, text);
}

/** Splits an HTTP push body into messages: a JSON array, one object, or CSV lines. */
export function splitPush(m: SourceMapping, body: unknown): unknown[] {
  if (m.format === 'csv') {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    if (typeof text !== 'string') return Array.isArray(body) ? body : [body];
    return text.split(/\r?\n/).filter((l) => l.trim() !== '');
  }
  if (Array.isArray(body)) return body;
  return [body];
}
