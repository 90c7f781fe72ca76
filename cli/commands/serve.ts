import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit, table } from '../output.js';
import type { ServingView } from '../../shared/index.js';

type Globals = { url?: string; token?: string; json?: boolean };

const fmtAssignment = (a: '*' | string[]) => (a === '*' ? 'every model (*)' : a.join(', '));

/** `model → "replica:gen state, ..."`, for a SERVED column (e.g. in `swarmml models`). */
export async function servedByModel(client: Client): Promise<Map<string, string>> {
  const v = await client.get<ServingView>('/api/v1/serving');
  return new Map(
    v.models.map((m) => [
      m.model,
      m.served
        .map((x) =>
          x.gen == null
            ? `${x.replica}: no generation (${x.state})`
            : `${x.replica}:g${x.gen} ${x.state}`,
        )
        .join(', '),
    ]),
  );
}

export function registerServe(program: Command): void {
  program
    .command('serve <models...>')
    .description(
      'assign models to the serving replicas ("*" serves every model); --remove unassigns',
    )
    .option('--remove', 'stop serving these models (an emptied assignment serves every model)')
    .action(async (models: string[], o: { remove?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      let r: { assignment: '*' | string[] } = { assignment: '*' };
      if (o.remove) {
        for (const m of models)
          r = await client.delete(`/api/v1/serving/assignment/${encodeURIComponent(m)}`);
      } else {
        r = await client.post('/api/v1/serving/assignment', { models });
      }
      emit(!!g.json, r, () => `serving: ${fmtAssignment(r.assignment)}`);
    });

  program
    .command('serving')
    .description('what each serving replica serves: model, generation, state')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const v = await new Client(g).get<ServingView>('/api/v1/serving');
      emit(!!g.json, v, () => {
        const rows = v.models.flatMap((m) =>
          m.served.map((x) => [
            m.model,
            x.replica,
            x.url,
            x.gen ?? '-',
            x.state,
            x.loaded.join(','),
          ]),
        );
        const down = v.replicas
          .filter((x) => !x.ok)
          .map((x) => `  unreachable: ${x.url} (${x.error ?? ''})`);
        return [
          `assignment: ${fmtAssignment(v.assignment)}`,
          table(rows, ['MODEL', 'REPLICA', 'URL', 'GEN', 'STATE', 'LOADED']),
          ...down,
        ].join('\n');
      });
    });
}
