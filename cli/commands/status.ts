import type { Command } from 'commander';
import { Client } from '../client.js';
import { columns, emit } from '../output.js';
import type { ClusterView } from '../../shared/index.js';

function describe(c: ClusterView): string[] {
  const out = [`mode     ${c.mode ?? '?'}`];
  const nodes = c.swarm?.nodes ?? [];
  if (nodes.length > 0) {
    out.push('', 'nodes');
    out.push(
      ...columns(
        nodes.map((n) => [
          `  ${n.hostname ?? '?'}`,
          n.role ?? '',
          n.state ?? '',
          n.availability ?? '',
        ]),
      ),
    );
  }
  const services = c.swarm?.services ?? [];
  if (services.length > 0) {
    out.push('', 'services');
    out.push(
      ...columns(
        services.map((s) => [
          `  ${s.name ?? '?'}`,
          `${s.running ?? '?'}/${s.replicas ?? 'global'}`,
          s.image ?? '',
        ]),
      ),
    );
  }
  if (c.processes?.length) {
    out.push('', 'processes');
    out.push(
      ...columns(
        c.processes.map((p) => [
          `  ${p.name}`,
          p.up ? 'up' : 'down',
          p.up ? `${p.latencyMs ?? 0} ms` : (p.error ?? ''),
          p.url,
        ]),
      ),
    );
  }
  const workers = c.workers ?? [];
  out.push('', workers.length ? 'session workers' : 'session workers: none running');
  out.push(
    ...columns(
      workers.map((w) => [`  ${w.sessionId.slice(0, 8)}`, w.state, w.model ?? '', w.node ?? '']),
    ),
  );
  return out;
}

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
      const cluster = await client.get<ClusterView>('/api/v1/cluster').catch(() => undefined);
      const value = { url: client.url, gateway: ready.status, cluster };
      emit(!!g.json, value, () =>
        [`gateway  ${client.url}  ${ready.status}`, ...(cluster ? describe(cluster) : [])]
          .join('\n')
          .trim(),
      );
    });
}
