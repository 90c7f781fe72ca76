import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit } from '../output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show whether the platform answers, and what runs where')
    .action(async (_opts, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ url?: string; token?: string; json?: boolean }>();
      const client = new Client(g);
      const ready = await client
        .get<{ status: string }>('/readyz')
        .catch((e: Error) => ({ status: `down: ${e.message}` }));
      const cluster = await client
        .get<Record<string, unknown>>('/api/v1/cluster')
        .catch(() => undefined);
      const value = { url: client.url, gateway: ready.status, cluster };
      emit(!!g.json, value, () =>
        [`gateway  ${client.url}  ${ready.status}`, cluster ? JSON.stringify(cluster, null, 2) : '']
          .join('\n')
          .trim(),
      );
    });
}
