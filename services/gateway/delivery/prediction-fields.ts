import type { Prediction, PredictionOutput } from '../../../shared/index.js';

/** Index of the largest value (first on ties); -1 for an empty tensor. */
export function argmax(data: readonly (number | boolean)[]): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

function outputField(o: PredictionOutput | undefined, field: string): unknown {
  if (!o) return undefined;
  const nums = () => o.data.map(Number);
  switch (field) {
    case 'argmax':
      return o.data.length ? argmax(o.data) : undefined;
    case 'max':
      return o.data.length ? Math.max(...nums()) : undefined;
    case 'min':
      return o.data.length ? Math.min(...nums()) : undefined;
    case 'data':
      return o.data;
    case 'datatype':
      return o.datatype;
    case 'shape':
      return o.shape;
    default: {
      const m = /^data\.(\d+)$/.exec(field);
      return m ? o.data[Number(m[1])] : undefined;
    }
  }
}

/** The output a condition or `output.*` path means: the named one, else the first. */
export function pickOutput(p: Prediction, name?: string): PredictionOutput | undefined {
  return name === undefined ? p.outputs[0] : p.outputs.find((o) => o.name === name);
}

/**
 * Reads a prediction path (grammar in shared/protocol/delivery.ts `isPredictionPath`).
 * Returns undefined when the prediction lacks the field; formatters write that as null.
 */
export function readPath(p: Prediction, path: string, ruleId = ''): unknown {
  const parts = path.split('.');
  const head = parts[0];
  switch (head) {
    case 'id':
      return p.id;
    case 'model':
      return p.model;
    case 'generation':
      return p.generation;
    case 'time':
      return p.time;
    case 'rule':
      return ruleId;
    case 'output':
      return outputField(p.outputs[0], parts.slice(1).join('.'));
    case 'outputs':
      return outputField(pickOutput(p, parts[1]), parts.slice(2).join('.'));
    case 'inputs': {
      let v: unknown = p.inputs;
      for (const k of parts.slice(1)) {
        if (v === null || typeof v !== 'object') return undefined;
        v = (v as Record<string, unknown>)[k];
      }
      return v;
    }
    default:
      return undefined;
  }
}
