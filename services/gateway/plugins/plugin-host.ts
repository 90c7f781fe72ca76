import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { type Prediction, safeReport, type Report } from '../../../shared/index.js';
import type {
  FormatterPlugin,
  Plugin,
  PluginKind,
  RulePlugin,
  SourceContext,
  SourcePlugin,
} from './types.js';

const EXTENSIONS = /\.(?:mjs|js|ts|mts)$/;
const KINDS: readonly PluginKind[] = ['formatter', 'rule', 'source'];

/** A plugin call that threw, timed out or returned something unusable. */
export class PluginFailed extends Error {
  constructor(
    readonly plugin: string,
    readonly op: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`plugin "${plugin}" ${op}: ${message}`, options);
    this.name = 'PluginFailed';
  }
}

export interface PluginIssue {
  path: (string | number)[];
  message: string;
}

export interface PluginHostOptions {
  report?: Report;
  /** limit on one plugin call @defaultValue 2000 */
  callTimeoutMs?: number;
}

function isPlugin(x: unknown): x is Plugin {
  if (!x || typeof x !== 'object') return false;
  const p = x as Record<string, unknown>;
  return (
    typeof p.name === 'string' &&
    KINDS.includes(p.kind as PluginKind) &&
    typeof p.create === 'function' &&
    (p.configSchema === undefined || typeof p.configSchema === 'function')
  );
}

/**
 * Loads plugins from a folder and runs every call into them behind try/catch and a timeout,
 * so a plugin that throws or hangs is reported and skipped, never taking the gateway down.
 * (A plugin can still crash the process from a stray timer; see docs/delivery.md.)
 */
export class PluginHost {
  private readonly plugins = new Map<string, Plugin>();
  private readonly schemas = new Map<string, z.ZodType | null>();
  private readonly instances = new Map<string, unknown>();
  private readonly report: Report;
  private readonly timeoutMs: number;

  constructor(opts: PluginHostOptions = {}) {
    this.report = safeReport(opts.report);
    this.timeoutMs = opts.callTimeoutMs ?? 2000;
  }

  /** Imports every module in `dir`; a module that fails to load is reported and skipped. */
  async loadDir(dir: string): Promise<{ loaded: string[]; failed: string[] }> {
    const loaded: string[] = [];
    const failed: string[] = [];
    const files = (await readdir(dir)).filter((f) => EXTENSIONS.test(f) && !f.endsWith('.d.ts'));
    for (const file of files.sort()) {
      const path = resolve(join(dir, file));
      try {
        const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
        const list: unknown[] = Array.isArray(mod.default) ? mod.default : [mod.default];
        for (const p of list) {
          this.register(p, file);
          loaded.push(`${(p as Plugin).kind}:${(p as Plugin).name}`);
        }
      } catch (err) {
        failed.push(file);
        this.report({ type: 'plugin.failed', plugin: file, op: 'load', error: String(err) });
      }
    }
    return { loaded, failed };
  }

  /** Registers one plugin object (also used by tests and built-ins). */
  register(p: unknown, origin = 'inline'): void {
    if (!isPlugin(p)) {
      throw new Error(`${origin}: default export is not a plugin {kind, name, create}`);
    }
    const key = `${p.kind}:${p.name}`;
    if (this.plugins.has(key)) throw new Error(`${origin}: duplicate ${p.kind} plugin "${p.name}"`);
    let schema: z.ZodType | null = null;
    if (p.configSchema) {
      schema = p.configSchema(z);
      if (!(schema instanceof z.ZodType))
        throw new Error(`${origin}: configSchema must return a zod schema`);
    }
    this.plugins.set(key, p);
    this.schemas.set(key, schema);
    this.report({ type: 'plugin.loaded', plugin: p.name, kind: p.kind, origin });
  }

  list(): { kind: PluginKind; name: string; version?: string; description?: string }[] {
    return [...this.plugins.values()].map(({ kind, name, version, description }) => ({
      kind,
      name,
      ...(version ? { version } : {}),
      ...(description ? { description } : {}),
    }));
  }

  has(kind: PluginKind, name: string): boolean {
    return this.plugins.has(`${kind}:${name}`);
  }

  /** Checks a document's reference to a plugin: that it exists and that its config fits. */
  check(kind: PluginKind, name: string, config: unknown): PluginIssue[] {
    const key = `${kind}:${name}`;
    if (!this.plugins.has(key)) {
      const known = [...this.plugins.values()].filter((p) => p.kind === kind).map((p) => p.name);
      return [
        {
          path: [],
          message: `unknown ${kind} plugin "${name}"; loaded: ${known.join(', ') || 'none'}`,
        },
      ];
    }
    const schema = this.schemas.get(key);
    if (!schema) return [];
    const r = schema.safeParse(config);
    return r.success
      ? []
      : r.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  }

  async format(
    name: string,
    config: unknown,
    p: Prediction,
  ): Promise<{ payload: string; contentType: string }> {
    const inst = this.instance<ReturnType<FormatterPlugin['create']>>('formatter', name, config);
    const out = await this.guard(name, 'format', () => inst.format(p));
    if (!out || typeof out !== 'object' || !('payload' in out)) {
      throw this.fail(name, 'format', 'returned no {payload}');
    }
    const text = typeof out.payload === 'string';
    return {
      payload: text ? (out.payload as string) : JSON.stringify(out.payload),
      contentType: out.contentType ?? (text ? 'text/plain' : 'application/json'),
    };
  }

  /** A business rule's verdict; a failing rule answers false (and is reported). */
  async test(name: string, config: unknown, p: Prediction): Promise<boolean> {
    try {
      const inst = this.instance<ReturnType<RulePlugin['create']>>('rule', name, config);
      return (await this.guard(name, 'test', () => inst.test(p))) === true;
    } catch {
      return false;
    }
  }

  /** Creates and starts a source plugin; the returned stop never throws. */
  async startSource(
    name: string,
    config: unknown,
    ctx: SourceContext,
  ): Promise<() => Promise<void>> {
    const plugin = this.get<SourcePlugin>('source', name);
    const parsed = this.parseConfig('source', name, config);
    const inst = await this.guard(name, 'create', () => plugin.create(parsed, ctx));
    await this.guard(name, 'start', () => inst.start());
    return async () => {
      await this.guard(name, 'stop', () => inst.stop()).catch(() => undefined);
    };
  }

  private get<P extends Plugin>(kind: PluginKind, name: string): P {
    const p = this.plugins.get(`${kind}:${name}`);
    if (!p) throw this.fail(name, 'lookup', `no ${kind} plugin of that name`);
    return p as P;
  }

  private parseConfig(kind: PluginKind, name: string, config: unknown): unknown {
    const schema = this.schemas.get(`${kind}:${name}`);
    if (!schema) return config;
    const r = schema.safeParse(config);
    if (!r.success) throw this.fail(name, 'config', r.error.message);
    return r.data;
  }

  /** One instance per (plugin, config): formatters and rules may hold compiled state. */
  private instance<T>(kind: 'formatter' | 'rule', name: string, config: unknown): T {
    const key = `${kind}:${name}:${JSON.stringify(config ?? null)}`;
    const cached = this.instances.get(key);
    if (cached) return cached as T;
    const plugin = this.get<FormatterPlugin | RulePlugin>(kind, name);
    const parsed = this.parseConfig(kind, name, config);
    let inst: unknown;
    try {
      inst = plugin.create(parsed);
    } catch (err) {
      throw this.fail(name, 'create', String(err), err);
    }
    this.instances.set(key, inst);
    return inst as T;
  }

  private fail(plugin: string, op: string, message: string, cause?: unknown): PluginFailed {
    this.report({ type: 'plugin.failed', plugin, op, error: message });
    return new PluginFailed(plugin, op, message, { cause });
  }

  private async guard<T>(plugin: string, op: string, fn: () => T | Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (err instanceof PluginFailed) throw err;
      throw this.fail(plugin, op, err instanceof Error ? err.message : String(err), err);
    } finally {
      clearTimeout(timer);
    }
  }
}
