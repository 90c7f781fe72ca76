import { readFileSync } from 'node:fs';
import { ApiError, Client } from '../client.js';
import type { Command } from 'commander';
import { emit, table } from '../output.js';

export type Globals = { url?: string; token?: string; json?: boolean };

export interface ConfigVersion {
  kind: string;
  version: number;
  doc: unknown;
  updatedAt: number | null;
  author: string | null;
}

/** Reads a JSON configuration file, naming the file and position when it does not parse. */
export function readJsonFile(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** PUT /api/v1/config/{kind} with a file's document; a 400 lists each problem's path. */
export async function applyConfig(
  g: Globals,
  kind: string,
  file: string,
  ifVersion?: string,
): Promise<{ kind: string; version: number }> {
  const q = ifVersion === undefined ? '' : `?ifVersion=${encodeURIComponent(ifVersion)}`;
  try {
    return await new Client(g).put(`/api/v1/config/${kind}${q}`, readJsonFile(file));
  } catch (err) {
    // A rejected document lists every problem under details.issues: show them all.
    if (!(err instanceof ApiError)) throw err;
    const details = (err.body as { details?: { issues?: { path: string; message: string }[] } })
      .details;
    const issues = details?.issues;
    if (!issues?.length) throw err;
    throw new ApiError(err.status, { ...err.body, issues });
  }
}

export function getConfig(g: Globals, kind: string): Promise<ConfigVersion> {
  return new Client(g).get<ConfigVersion>(`/api/v1/config/${kind}`);
}

interface DeliveryDoc {
  channels: Record<string, { type: string; url?: string; topic?: string; routingKey?: string }>;
  formatters: Record<string, { type: string }>;
  rules: {
    id: string;
    enabled?: boolean;
    model: string;
    channel: string;
    formatter: string;
    sample?: number;
  }[];
}

/** `swarmml delivery ls|apply FILE`: channels, formatters and rules (one live document). */
export function registerDelivery(program: Command): void {
  const delivery = program
    .command('delivery')
    .description('prediction delivery: channels, formatters and rules (live configuration)');
  delivery
    .command('ls')
    .description('show the delivery configuration in force')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const v = await getConfig(g, 'delivery');
      emit(!!g.json, v, () => {
        if (!v.doc)
          return 'no delivery configuration yet (version 0): `swarmml delivery apply FILE`';
        const d = v.doc as DeliveryDoc;
        const where = (c: DeliveryDoc['channels'][string]) =>
          [c.url, c.topic, c.routingKey].filter(Boolean).join(' ');
        return [
          `delivery version ${v.version}${v.author ? ` by ${v.author}` : ''}`,
          '',
          table(
            Object.entries(d.channels).map(([id, c]) => [id, c.type, where(c)]),
            ['CHANNEL', 'TYPE', 'TARGET'],
          ),
          '',
          table(
            Object.entries(d.formatters).map(([id, f]) => [id, f.type]),
            ['FORMATTER', 'TYPE'],
          ),
          '',
          table(
            (d.rules ?? []).map((r) => [
              r.id,
              r.enabled === false ? 'off' : 'on',
              r.model,
              r.formatter,
              r.channel,
              r.sample ?? 1,
            ]),
            ['RULE', 'STATE', 'MODEL', 'FORMATTER', 'CHANNEL', 'SAMPLE'],
          ),
        ].join('\n');
      });
    });
  delivery
    .command('apply <file>')
    .description(
      'replace the delivery configuration with a JSON file (validated; applied within a second)',
    )
    .option('--if-version <n>', 'only if the version in force is this one')
    .action(async (file: string, o: { ifVersion?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const r = await applyConfig(g, 'delivery', file, o.ifVersion);
      emit(!!g.json, r, () => `delivery configuration is now version ${r.version}`);
    });
}
