import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit, table } from '../output.js';
import { applyConfig, getConfig, type Globals } from './delivery.js';

interface SourceStatus {
  id: string;
  type: string;
  dataset: string;
  state: string;
  received: number;
  appended: number;
  rejected: number;
  lastError: string | null;
}

/** `swarmml source ls|apply FILE`: live data sources feeding datasets. */
export function registerSources(program: Command): void {
  const source = program
    .command('source')
    .description('live data sources: MQTT topics, HTTP push, plugins (live configuration)');
  source
    .command('ls')
    .description('sources in force, with their state and counters')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const c = new Client(g);
      const [v, s] = await Promise.all([
        getConfig(g, 'sources'),
        c.get<{ sources: SourceStatus[] }>('/api/v1/sources'),
      ]);
      emit(!!g.json, { config: v, status: s.sources }, () =>
        [
          `sources version ${v.version}`,
          table(
            s.sources.map((x) => [
              x.id,
              x.type,
              x.dataset,
              x.state,
              x.received,
              x.appended,
              x.rejected,
              x.lastError,
            ]),
            [
              'SOURCE',
              'TYPE',
              'DATASET',
              'STATE',
              'RECEIVED',
              'APPENDED',
              'REJECTED',
              'LAST ERROR',
            ],
          ),
        ].join('\n'),
      );
    });
  source
    .command('apply <file>')
    .description(
      'replace the sources configuration with a JSON file (validated; applied within a second)',
    )
    .option('--if-version <n>', 'only if the version in force is this one')
    .action(async (file: string, o: { ifVersion?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const r = await applyConfig(g, 'sources', file, o.ifVersion);
      emit(!!g.json, r, () => `sources configuration is now version ${r.version}`);
    });
}
