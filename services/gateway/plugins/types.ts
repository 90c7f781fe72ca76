import type { z } from 'zod';
import type { Prediction } from '../../../shared/index.js';
import type { SampleRow } from '../sources/sample-sink.js';

/**
 * The plugin contract (docs/delivery.md, "Plugins"). A plugin is a JS/TS module in the
 * plugins folder whose default export is one plugin object or an array of them. The config
 * schema is built from the `z` the host passes in, so a plugin needs no zod of its own.
 */
export interface PluginBase {
  /** unique per kind; what configuration documents refer to */
  name: string;
  version?: string;
  description?: string;
  /** validates the `config` a document gives the plugin; absent means "no config" */
  configSchema?: (zod: typeof z) => z.ZodType;
}

export interface FormatterPlugin extends PluginBase {
  kind: 'formatter';
  create(config: unknown): {
    /** A string is sent as is; anything else is sent as JSON. */
    format(p: Prediction): FormatterOutput | Promise<FormatterOutput>;
  };
}

export interface FormatterOutput {
  payload: unknown;
  /** @defaultValue 'application/json' for non-strings, 'text/plain' for strings */
  contentType?: string;
}

export interface RulePlugin extends PluginBase {
  kind: 'rule';
  create(config: unknown): { test(p: Prediction): boolean | Promise<boolean> };
}

export type { SampleRow };

export interface SourceContext {
  /** appends rows to the source's dataset; resolves once stored */
  emit(rows: SampleRow[]): Promise<void>;
  /** reports a problem without stopping the source */
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface SourcePlugin extends PluginBase {
  kind: 'source';
  create(
    config: unknown,
    ctx: SourceContext,
  ): { start(): void | Promise<void>; stop(): void | Promise<void> };
}

export type Plugin = FormatterPlugin | RulePlugin | SourcePlugin;
export type PluginKind = Plugin['kind'];
