import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Client } from '../client.js';
import { columns, emit, table } from '../output.js';
import { redisPassword, type ClusterView } from '../../shared/index.js';
import { redisSecretFile } from '../local/secrets.js';
import { localSettings } from '../local/settings.js';
import { readLocalState, type LocalState } from '../local/state-file.js';
import { probeLocalProcess } from '../local/process-health.js';

type LocalProcess = LocalState['processes'][number] & { health: string };
interface LocalView {
  supervisorPid: number;
  url: string;
  processes: LocalProcess[];
}

/**
 * The processes of a local mode running from $SWARMML_HOME (its supervisor's state file),
 * each probed now; undefined when none runs there.
 */
async function localView(): Promise<LocalView | undefined> {
  const { home } = localSettings();
  const state = readLocalState(home);
  if (!state) return undefined;
  const secret = redisSecretFile(home);
  const redisLogin = existsSync(secret)
    ? { user: 'admin', password: redisPassword(readFileSync(secret, 'utf8').trim(), 'admin') }
    : undefined;
  const processes = await Promise.all(
    state.processes.map(async (p) => ({
      ...p,
      health:
        p.state === 'up' && p.port !== null
          ? await probeLocalProcess(p.name, p.port, { redisLogin })
          : p.state,
    })),
  );
  return { supervisorPid: state.supervisorPid, url: state.url, processes };
}

function describeLocal(l: LocalView): string[] {
  return [
    '',
    `local mode (supervisor pid ${l.supervisorPid})`,
    ...table(
      l.processes.map((p) => [`  ${p.name}`, p.pid, p.port, p.health, p.restarts, p.spare]),
      ['  PROCESS', 'PID', 'PORT', 'HEALTH', 'RESTARTS', 'SPARE'],
    ).split('\n'),
  ];
}

type NodeView = NonNullable<ClusterView['swarm']>['nodes'][number];

/** `2 cpu 3.8G NVIDIA-GPU=GPU-0`: what the node's engine advertises. */
function nodeResources(n: NodeView): string {
  const r = n.resources;
  if (!r) return '';
  const gpus = Object.entries(r.generic).map(([k, ids]) => `${k}=${ids.join('+')}`);
  return [`${r.cpus} cpu`, `${(r.memoryBytes / 2 ** 30).toFixed(1)}G`, ...gpus].join(' ');
}

/** `serving x2, redis`: this install's tasks on the node, short service names. */
function nodeTasks(n: NodeView): string {
  const counts = new Map<string, number>();
  for (const t of n.tasks ?? []) {
    const short = t.service.replace(/^[^_]+_/, '');
    counts.set(short, (counts.get(short) ?? 0) + 1);
  }
  const parts = [...counts].map(([s, k]) => (k > 1 ? `${s} x${k}` : s));
  return parts.length > 0 ? parts.join(', ') : 'no tasks';
}

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
          n.address ?? '',
          nodeResources(n),
          Object.entries(n.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(',') || '-',
          nodeTasks(n),
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
      const [cluster, local] = await Promise.all([
        client.get<ClusterView>('/api/v1/cluster').catch(() => undefined),
        localView(),
      ]);
      const value = { url: client.url, gateway: ready.status, cluster, local };
      emit(!!g.json, value, () =>
        [
          `gateway  ${client.url}  ${ready.status}`,
          ...(cluster ? describe(cluster) : []),
          ...(local ? describeLocal(local) : []),
        ]
          .join('\n')
          .trim(),
      );
    });
}
