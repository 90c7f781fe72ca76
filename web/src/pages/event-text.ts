/** One line per archived event, with every id in it a link. */
import { h } from '../dom.js';
import { num, pct, time } from '../format.js';
import { generationLink, modelLink, sessionLink } from '../links.js';
import type { LiveEvent } from '../types.js';

/** Payload values as text (payloads are untyped JSON). */
export const str = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : v == null
      ? ''
      : JSON.stringify(v);

function topFeatures(v: unknown): string {
  if (!Array.isArray(v) || v.length === 0) return '';
  const items = v.slice(0, 3).map((f) => {
    if (f && typeof f === 'object') {
      const o = f as Record<string, unknown>;
      const name = str(o.name ?? o.feature ?? o.index);
      const psi = typeof o.psi === 'number' ? ` ${num(o.psi, 3)}` : '';
      return `${name}${psi}`;
    }
    return str(f);
  });
  return `; top features ${items.join(', ')}`;
}

/** What the event says, in words: decisions with their reason and rule, drift with PSI. */
export function describeEvent(e: LiveEvent): string {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  switch (e.kind) {
    case 'epoch':
      return `epoch ${str(p.epoch)}/${str(p.epochs)} loss ${num(p.loss as number, 4)}, val acc ${pct(p.valAccuracy as number | undefined)}`;
    case 'decision':
      return `${str(p.action)}${p.gen !== undefined ? ` generation ${str(p.gen)}` : ''}: ${str(p.reason)}${p.rule ? ` (rule ${str(p.rule)})` : ''}`;
    case 'session.queued':
      return `queued${p.trigger ? ` by ${str(p.trigger)}` : ''}`;
    case 'session.state':
      return `state → ${str(p.state)}`;
    case 'session.finished':
      return `finished ${str(p.state)}, exit code ${str(p.exitCode ?? '–')}${p.reason ? `: ${str(p.reason)}` : ''}`;
    case 'generation.candidate':
      return `candidate generation ${str(p.gen)}`;
    case 'generation.evaluated':
      return `generation ${str(p.gen)} evaluated`;
    case 'generation.promoted':
    case 'generation.rejected':
      return `generation ${str(p.gen)} ${e.kind.slice(11)}${p.reason ? `: ${str(p.reason)}` : ''}`;
    case 'serving.drift':
      return `drift: PSI ${num(p.psi as number, 3)} over threshold ${num(p.threshold as number, 3)}${topFeatures(p.topFeatures)}`;
    case 'security.denied':
      return `denied${p.by ? ` to ${str(p.by)}` : ''}: ${str(p.reason)}`;
    case 'worker.flagged':
      return `flagged: ${str(p.flag ?? p.reason ?? '')}`;
    case 'log':
      return `${(p.lines as string[] | undefined)?.length ?? 0} log lines`;
    default: {
      const s = JSON.stringify(p);
      return s.length > 160 ? `${s.slice(0, 157)}…` : s;
    }
  }
}

/** An event as a list item: time, kind, text, and links to its session, model and generation. */
export function eventItem(
  e: LiveEvent,
  describe = describeEvent,
  withSession = false,
): HTMLElement {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const model = typeof p.model === 'string' ? p.model : undefined;
  const gen = typeof p.gen === 'number' ? p.gen : undefined;
  const links: (Node | string)[] = [];
  if (withSession && e.sessionId) links.push(' · session ', sessionLink(e.sessionId));
  if (model && gen !== undefined) links.push(' · ', generationLink(model, gen));
  else if (model) links.push(' · model ', modelLink(model));
  return h(
    'li',
    { class: `ev ev-${e.kind.replace(/\./g, '-')}`, 'data-kind': e.kind, 'data-id': e.id },
    h('time', { datetime: e.time }, time(e.time)),
    ' ',
    h('strong', {}, e.kind),
    ' ',
    describe(e),
    links,
  );
}
