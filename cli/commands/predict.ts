/**
 * `swarmml predict`: one inference through the gateway, printed as a table of rows (class,
 * score, top 3) for people, or the protocol's JSON answer with `--json`.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiError, Client } from '../client.js';
import { emit, num, table } from '../output.js';

type Globals = { url?: string; token?: string; json?: boolean };

/** Score outputs, by preference (what the serving protocols label classes from). */
const SCORE_NAMES = ['probabilities', 'probs', 'logits', 'scores'];
const TOP = 3;

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
}
interface V2Metadata {
  outputs?: { name: string; datatype: string; shape: number[] }[];
}

/** One row of the table: its class, that class's score, and the best classes in order. */
export interface PredictionRow {
  label: string | undefined;
  score: number | undefined;
  top: { label: string; score: number }[];
}

/** `"<score>:<index>[:<label>]"` (Triton's classification strings) → label and score. */
function parseClass(s: string): { label: string; score: number } {
  const first = s.indexOf(':');
  const second = s.indexOf(':', first + 1);
  const score = Number(s.slice(0, first));
  const index = second < 0 ? s.slice(first + 1) : s.slice(first + 1, second);
  return { score, label: second < 0 ? `#${index}` : s.slice(second + 1) };
}

/** The best `TOP` classes of one row of scores, named from `labels` where known. */
function topOf(scores: number[], labels: readonly string[] | undefined) {
  return scores
    .map((score, i) => ({ score, label: labels?.[i] ?? `#${i}` }))
    .sort((a, b) => b.score - a.score)
    .slice(0, TOP);
}

/** Rows of a KServe v2 answer: `label` and classification outputs, else a score output. */
export function v2Rows(outputs: V2Output[]): PredictionRow[] | undefined {
  const label = outputs.find((o) => o.name === 'label' && o.datatype === 'BYTES');
  const classes = outputs.find((o) => o.datatype === 'BYTES' && o.shape.length === 2);
  const scores = outputs.find(
    (o) => SCORE_NAMES.includes(o.name) && o.datatype !== 'BYTES' && o.shape.length === 2,
  );
  const rows = (label ?? classes ?? scores)?.shape[0];
  if (rows === undefined) return undefined;
  return Array.from({ length: rows }, (_, r) => {
    let top: PredictionRow['top'] = [];
    if (classes) {
      const k = classes.shape[1]!;
      top = (classes.data ?? []).slice(r * k, (r + 1) * k).map((s) => parseClass(String(s)));
    } else if (scores) {
      const k = scores.shape[1]!;
      top = topOf((scores.data ?? []).slice(r * k, (r + 1) * k) as number[], undefined);
    }
    const named = label?.data?.[r];
    return {
      label: typeof named === 'string' ? named : top[0]?.label,
      score: top[0]?.score,
      top,
    };
  });
}

/** Rows of a TF Serving predict answer (row or columnar): `classes` beside a score output. */
export function tfRows(
  answer: { predictions?: unknown; outputs?: unknown },
  labels: readonly string[] | undefined,
): PredictionRow[] | undefined {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  let perRow: Record<string, unknown>[] | undefined;
  if (Array.isArray(answer.predictions) && answer.predictions.every(isObj)) {
    perRow = answer.predictions;
  } else if (isObj(answer.outputs)) {
    const cols = answer.outputs;
    const n = Object.values(cols).find(Array.isArray)?.length ?? 0;
    perRow = Array.from({ length: n }, (_, r) =>
      Object.fromEntries(
        Object.entries(cols).map(([k, v]) => [k, Array.isArray(v) ? v[r] : undefined]),
      ),
    );
  }
  if (!perRow) return undefined;
  const scoreKey = SCORE_NAMES.find((k) => perRow[0] && Array.isArray(perRow[0][k]));
  if (!scoreKey && !perRow.some((p) => typeof p.classes === 'string')) return undefined;
  return perRow.map((p) => {
    const top = scoreKey ? topOf(p[scoreKey] as number[], labels) : [];
    const label = typeof p.classes === 'string' ? p.classes : top[0]?.label;
    return { label, score: top[0]?.score, top };
  });
}

export function renderRows(rows: PredictionRow[]): string {
  return table(
    rows.map((r, i) => [
      i,
      r.label,
      r.score === undefined ? undefined : num(r.score),
      r.top.map((t) => `${t.label} ${num(t.score, 3)}`).join(', ') || undefined,
    ]),
    ['ROW', 'LABEL', 'SCORE', `TOP-${TOP}`],
  );
}

/**
 * For the table: a v2 request that names no outputs asks for each row's `label` and the top
 * classes of the score output (Triton's classification extension), when the model has them.
 */
async function askForClasses(
  client: Client,
  modelPath: string,
  body: Record<string, unknown>,
): Promise<void> {
  if (body.outputs !== undefined) return;
  const meta = await client.get<V2Metadata>(modelPath).catch(() => undefined);
  const outs = meta?.outputs ?? [];
  const score = SCORE_NAMES.map((n) => outs.find((o) => o.name === n)).find(
    (o) => o && o.datatype !== 'BYTES' && o.shape.length === 2,
  );
  if (!score) return;
  body.outputs = [
    ...(outs.some((o) => o.name === 'label') ? [{ name: 'label' }] : []),
    { name: score.name, parameters: { classification: TOP } },
  ];
}

/** The class names a generation records (`io.labelNames`), for TF answers; none if unknown. */
async function labelNames(
  client: Client,
  model: string,
  version: string | undefined,
): Promise<string[] | undefined> {
  try {
    const m = encodeURIComponent(model);
    const gen =
      version ??
      (await client.get<{ production: number | null }>(`/api/v1/models/${m}`)).production;
    if (gen === null) return undefined;
    const g = await client.get<{ io?: { labelNames?: unknown } }>(
      `/api/v1/models/${m}/generations/${gen}`,
    );
    const names = g.io?.labelNames;
    return Array.isArray(names) ? names.map(String) : undefined;
  } catch {
    return undefined;
  }
}

export function registerPredict(program: Command): void {
  program
    .command('predict <model>')
    .description(
      'run an inference: --input takes a KServe v2 request JSON file, or TF Serving {"instances": [...]} rows; prints each row\'s class, score and top 3 (--json: the answer as it came)',
    )
    .requiredOption('--input <file>', 'JSON file ("-" for stdin)')
    .option('--version <gen>', 'a pinned generation')
    .action(async (name: string, o: { input: string; version?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      const body = JSON.parse(readFileSync(o.input === '-' ? 0 : o.input, 'utf8')) as Record<
        string,
        unknown
      >;
      const v = o.version ? `/versions/${o.version}` : '';
      const tf = 'instances' in body || ('inputs' in body && !Array.isArray(body.inputs));
      const model = encodeURIComponent(name);
      const path = tf ? `/v1/models/${model}${v}:predict` : `/v2/models/${model}${v}/infer`;
      if (!tf && !g.json) await askForClasses(client, `/v2/models/${model}${v}`, body);
      const res = await fetch(client.url + path, {
        method: 'POST',
        headers: client.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      });
      const out = (await res.json()) as { error?: string; code?: string; outputs?: unknown };
      if (!res.ok) {
        throw new ApiError(res.status, {
          error: out.code ?? String(res.status),
          message: out.error ?? '',
        });
      }
      const rows = g.json
        ? undefined
        : tf
          ? tfRows(out, await labelNames(client, name, o.version))
          : v2Rows(Array.isArray(out.outputs) ? (out.outputs as V2Output[]) : []);
      // An answer with no class scores (a regressor, say) is printed as it came.
      emit(!rows, out, () => renderRows(rows!));
    });
}
