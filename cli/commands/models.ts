import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiError, Client } from '../client.js';
import { emit, num, table } from '../output.js';
import { registerPredict } from './predict.js';
import { servedByModel } from './serve.js';

type Globals = { url?: string; token?: string; json?: boolean };

interface Generation {
  gen: number;
  status: string;
  metrics: Record<string, number | null>;
  lineage: { dataset: string; version: number } | null;
  size: number;
  created: string;
  reason?: string;
  /** the generation it grew from (warm start, or the production it was compared with) */
  parent?: number;
}
interface Model {
  name: string;
  type: string;
  production: number | null;
  generations: number;
  created: string;
  generationsList?: Generation[];
}

const fmtMetrics = (m: Record<string, number | null>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : num(v)}`)
    .join(' ');

/** What a model with no production generation shows where its serving state would be. */
export const NOT_SERVED = 'not served yet';

/**
 * The generations as a tree: each under the one it grew from (its `parent`), children in
 * order; a generation whose parent is gone (deleted) or unknown starts a tree of its own.
 */
export function generationTree(gens: Generation[], production: number | null): string[] {
  const known = new Set(gens.map((g) => g.gen));
  const children = new Map<number | undefined, Generation[]>();
  for (const g of [...gens].sort((a, b) => a.gen - b.gen)) {
    const p = g.parent !== undefined && known.has(g.parent) ? g.parent : undefined;
    children.set(p, [...(children.get(p) ?? []), g]);
  }
  const lines: string[] = [];
  const walk = (parent: number | undefined, indent: string) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((x, i) => {
      const last = i === kids.length - 1;
      const branch = parent === undefined ? '' : last ? '└─ ' : '├─ ';
      const mark = x.gen === production ? '●' : '○';
      const lineage = x.lineage ? `${x.lineage.dataset}@${x.lineage.version}` : 'uploaded';
      lines.push(
        `  ${indent}${branch}${mark} gen ${String(x.gen).padEnd(3)} ${x.status.padEnd(10)} ${lineage.padEnd(16)} ${fmtMetrics(x.metrics)}${x.reason ? `  (${x.reason})` : ''}`.trimEnd(),
      );
      walk(x.gen, parent === undefined ? indent : indent + (last ? '   ' : '│  '));
    });
  };
  walk(undefined, '');
  return lines;
}

export function registerModels(program: Command): void {
  program
    .command('models')
    .description('list models with their production generation')
    .action(async (_o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      const r = await client.get<{ models: Model[] }>('/api/v1/models');
      // Where each model is served; with no serving replica reachable the column shows '-'.
      const served = await servedByModel(client).catch(() => new Map<string, string>());
      emit(!!g.json, { ...r, served: Object.fromEntries(served) }, () =>
        table(
          r.models.map((m) => [
            m.name,
            m.type,
            m.production ?? '-',
            m.generations,
            m.production === null ? NOT_SERVED : (served.get(m.name) ?? '-'),
            m.created.slice(0, 19),
          ]),
          ['MODEL', 'TYPE', 'PRODUCTION', 'GENERATIONS', 'SERVED', 'CREATED'],
        ),
      );
    });

  const model = program
    .command('model')
    .description('one model: show its generation tree, push an ONNX file');
  model
    .command('show <name>')
    .description(
      "a model's generations as a tree (each under the one it grew from): status, lineage, metrics",
    )
    .action(async (name: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const m = await new Client(g).get<Model>(`/api/v1/models/${encodeURIComponent(name)}`);
      emit(!!g.json, m, () =>
        [
          `${m.name} (${m.type})  production: ${m.production ?? `none (${NOT_SERVED})`}`,
          ...generationTree(m.generationsList ?? [], m.production),
        ].join('\n'),
      );
    });
  model
    .command('push <file>')
    .description('upload an ONNX file (from PyTorch, TensorFlow, sklearn ...) as a new generation')
    .requiredOption('--name <model>', 'model name')
    .option('--type <type>', 'model type', 'classifier')
    .option('--metrics <json>', 'metrics as JSON, e.g. {"valAccuracy":0.93}')
    .option('--promote', 'make it production at once (admin)')
    .action(
      async (
        file: string,
        o: { name: string; type: string; metrics?: string; promote?: boolean },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<Globals>();
        const client = new Client(g);
        const bytes = readFileSync(file);
        const q = new URLSearchParams({
          type: o.type,
          ...(o.metrics ? { metrics: o.metrics } : {}),
          ...(o.promote ? { promote: 'true' } : {}),
        });
        const res = await fetch(
          `${client.url}/api/v1/models/${encodeURIComponent(o.name)}/generations?${q}`,
          {
            method: 'POST',
            headers: client.headers({ 'content-type': 'application/octet-stream' }),
            body: bytes,
          },
        );
        const body = (await res.json()) as Generation & { error?: string; message?: string };
        if (!res.ok) throw new ApiError(res.status, body);
        emit(
          !!g.json,
          body,
          () => `${o.name} gen ${body.gen}: ${body.status} (${bytes.length} bytes)`,
        );
      },
    );
  for (const action of ['promote', 'reject'] as const) {
    model
      .command(`${action} <name> <gen>`)
      .description(`${action} a generation by hand (admin)`)
      .option('--reason <text>', 'why (reject)', 'rejected by hand')
      .action(async (name: string, gen: string, o: { reason: string }, cmd: Command) => {
        const g = cmd.optsWithGlobals<Globals>();
        const r = await new Client(g).post<Generation>(
          `/api/v1/models/${encodeURIComponent(name)}/generations/${gen}/${action}`,
          action === 'reject' ? { reason: o.reason } : {},
        );
        emit(!!g.json, r, () => `${name} gen ${r.gen}: ${r.status}`);
      });
  }
  registerPredict(program);
}
