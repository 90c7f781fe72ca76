import type { Logger } from '../runtime/logger.js';
// The generic versioned store; the lead moves it to shared/ (then this import follows).
import type { ConfigVersion, LiveConfig } from './live-config.js';
import { RULES_CONFIG_KIND, RulesDocument } from '../protocol/rules.js';

/** The rules as stored: version 0 (and the defaults) until someone puts a document. */
export interface StoredRules {
  version: number;
  doc: RulesDocument;
  updatedAt: number | null;
  author: string | null;
}

/**
 * Validates and stores a new rules version (what `PUT /api/v1/rules` calls). A malformed
 * document throws BadInput naming the path of every problem, and nothing is stored.
 */
export async function putRules(
  live: LiveConfig,
  body: unknown,
  opts: { author?: string; ifVersion?: number } = {},
): Promise<StoredRules> {
  const { version, doc } = await live.put(RULES_CONFIG_KIND, body, RulesDocument, opts);
  return { version, doc, updatedAt: Date.now(), author: opts.author ?? null };
}

export async function getRules(live: LiveConfig): Promise<StoredRules> {
  return toStored(await live.get(RULES_CONFIG_KIND));
}

export async function rulesHistory(live: LiveConfig, limit = 20): Promise<StoredRules[]> {
  return (await live.history(RULES_CONFIG_KIND, limit)).map(toStored);
}

/**
 * Calls `fn` with the current rules and every later version (within about a second of a
 * put, in every process). A stored document that no longer parses is logged and skipped,
 * keeping the rules in force.
 */
export function watchRules(
  live: LiveConfig,
  log: Logger,
  fn: (rules: StoredRules) => void,
): () => void {
  return live.watch(RULES_CONFIG_KIND, (v) => {
    try {
      fn(toStored(v));
    } catch (err) {
      log.error({ err: String(err), version: v.version }, 'stored rules rejected; keeping the old');
    }
  });
}

function toStored(v: ConfigVersion): StoredRules {
  return {
    version: v.version,
    doc: RulesDocument.parse(v.doc ?? {}),
    updatedAt: v.updatedAt,
    author: v.author,
  };
}
