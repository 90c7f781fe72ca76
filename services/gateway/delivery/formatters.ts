import { PLACEHOLDER, type DeliveryFormatter, type Prediction } from '../../../shared/index.js';
import { readPath } from './prediction-fields.js';

export interface Formatted {
  payload: string;
  contentType: string;
}

/** Formats with a code-level plugin; rejects when the plugin fails (the host reports it). */
export type PluginFormat = (name: string, config: unknown, p: Prediction) => Promise<Formatted>;

export type FormatFn = (p: Prediction, ruleId: string) => Promise<Formatted>;

/** A field as text inside a larger string: scalars as themselves, the rest as JSON. */
function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

function fillString(s: string, p: Prediction, ruleId: string): unknown {
  // A string that is only a placeholder keeps the field's JSON type (numbers stay numbers).
  const whole = WHOLE.exec(s);
  if (whole) return readPath(p, whole[1] ?? '', ruleId) ?? null;
  return s.replace(PLACEHOLDER, (_, path: string) => {
    const v = readPath(p, path, ruleId);
    return cellText(v);
  });
}

/** Applies a JSON template: strings with placeholders are filled, every other value is kept. */
export function fillTemplate(t: unknown, p: Prediction, ruleId: string): unknown {
  if (typeof t === 'string') return fillString(t, p, ruleId);
  if (Array.isArray(t)) return t.map((x) => fillTemplate(x, p, ruleId));
  if (t && typeof t === 'object') {
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, fillTemplate(v, p, ruleId)]));
  }
  return t;
}

function csvCell(v: unknown, sep: string): string {
  const s = Array.isArray(v) ? v.join(' ') : cellText(v);
  return s.includes(sep) || /["\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line (no trailing newline); fields with the separator, quotes or newlines are quoted. */
export function csvLine(columns: readonly string[], sep: string, p: Prediction, ruleId: string) {
  return columns.map((c) => csvCell(readPath(p, c, ruleId), sep)).join(sep);
}

/** Turns a validated formatter definition into a function. */
export function compileFormatter(f: DeliveryFormatter, pluginFormat?: PluginFormat): FormatFn {
  switch (f.type) {
    case 'json':
      return async (p) => ({ payload: JSON.stringify(p), contentType: 'application/json' });
    case 'template': {
      const contentType = f.contentType;
      return async (p, ruleId) => ({
        payload: JSON.stringify(fillTemplate(f.template, p, ruleId)),
        contentType,
      });
    }
    case 'csv':
      return async (p, ruleId) => ({
        payload: csvLine(f.columns, f.separator, p, ruleId),
        contentType: f.contentType,
      });
    case 'plugin':
      return async (p) => {
        if (!pluginFormat) throw new Error(`no plugin host for formatter plugin "${f.plugin}"`);
        return pluginFormat(f.plugin, f.config, p);
      };
  }
}
