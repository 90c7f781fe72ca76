import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { Command } from 'commander';
import {
  flagName,
  UPLOAD_FLAGS,
  uploadParamHelp,
} from '../../services/data-intake/upload-options.js';
import { ApiError, Client } from '../client.js';
import { emit, table } from '../output.js';
import { ByteCounter, uploadBar } from '../progress.js';

interface Globals {
  url?: string;
  token?: string;
  json?: boolean;
}

interface VersionView {
  name: string;
  version: number;
  kind: string;
  format: string;
  features?: number;
  featureNames?: string[];
  imageShape?: { height: number; width: number; channels: number };
  count: number;
  labelKind: string;
  labelNames?: string[];
  split?: { seed: number; validationFraction: number; trainCount: number; validationCount: number };
  stats?: {
    features?: { mean: (number | null)[]; std: (number | null)[]; missing: number[] };
    labels: { kind: string; histogram?: number[]; mean?: number | null; std?: number | null };
  };
  sha256: string;
  bytes: number;
  shardCount: number;
  parent?: number;
  created: string;
  source?: { indexBase?: number; filename?: string; options?: Record<string, unknown> };
  /** Set on a push that made no version because the latest one holds the same rows. */
  identical?: boolean;
}

type UploadParam = keyof typeof UPLOAD_FLAGS;
const UPLOAD_PARAMS = Object.keys(UPLOAD_FLAGS) as UploadParam[];

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv',
  jsonl: 'application/x-ndjson',
  libsvm: 'text/x-libsvm',
};

const MB = 1024 * 1024;
const n = (x: number) => x.toLocaleString('en-US');

/** `name`, `name@3`, `name@v3` or `name@latest`. */
export function parseRef(ref: string): { name: string; version?: string } {
  const at = ref.lastIndexOf('@');
  if (at < 0) return { name: ref };
  return { name: ref.slice(0, at), version: ref.slice(at + 1).replace(/^v/, '') };
}

function shape(v: VersionView): string {
  if (v.kind === 'image' && v.imageShape) {
    const s = v.imageShape;
    return `${s.height}x${s.width}x${s.channels} images`;
  }
  return `${v.features ?? '?'} features`;
}

function labels(v: VersionView): string {
  return v.labelKind === 'class' ? `${v.labelNames?.length ?? '?'} classes` : 'regression';
}

/** Streams a file to the gateway with node:http, so the body need not fit in memory. */
function postFile(
  client: Client,
  path: string,
  file: string,
  contentType: string,
  onBytes: (n: number) => void,
): Promise<{ status: number; body: unknown }> {
  const size = statSync(file).size;
  const url = new URL(client.url + path);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: 'POST',
      headers: client.headers({ 'content-type': contentType, 'content-length': String(size) }),
    });
    req.on('error', (err) =>
      reject(new Error(`upload to ${client.url} failed: ${err.message}`, { cause: err })),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = { error: 'BAD_RESPONSE', message: text.slice(0, 200) };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    const input = createReadStream(file);
    input.on('error', (err) => req.destroy(err));
    input.pipe(new ByteCounter(onBytes)).pipe(req);
  });
}

/** One flag per upload query parameter (upload-options.ts), named in kebab case. */
function addUploadFlags(cmd: Command): Command {
  for (const param of UPLOAD_PARAMS) {
    const flag = UPLOAD_FLAGS[param];
    const name = flagName(param);
    const help = uploadParamHelp(param);
    if (flag.kind === 'value') cmd.option(`--${name} <${flag.arg ?? 'value'}>`, help);
    else cmd.option(`--${name}`, flag.on ?? help);
    if (flag.kind === 'negatable') cmd.option(`--no-${name}`, flag.off ?? `not --${name}`);
  }
  return cmd;
}

/** The query of an upload: every flag given, under its API name (commander camel-cases them back). */
function uploadQuery(file: string, opts: Record<string, unknown>): URLSearchParams {
  const q = new URLSearchParams();
  for (const param of UPLOAD_PARAMS) {
    const v = opts[param];
    if (typeof v === 'string' || typeof v === 'boolean') q.set(param, String(v));
  }
  if (!q.has('filename')) q.set('filename', basename(file));
  return q;
}

/**
 * The API's error, with its fix told as flags: the API words a hint in query parameters
 * (`set labelColumn=0`), a user of this command wants `--label-column 0`.
 */
function uploadError(status: number, body: unknown): ApiError {
  const b = (body ?? {}) as ConstructorParameters<typeof ApiError>[1] & {
    details?: { hint?: string; suggest?: Record<string, string> };
  };
  const hint = b.details?.hint;
  if (!hint || !b.details?.suggest || !b.message) return new ApiError(status, b);
  let cli = hint;
  for (const [k, v] of Object.entries(b.details.suggest)) {
    cli = cli.replace(`set ${k}=${v}`, `pass --${flagName(k)} ${v}`);
  }
  const message = `${b.message.replace(`; ${hint}`, '')}\n  hint: ${cli}`;
  return new ApiError(status, { ...b, message });
}

async function push(
  file: string,
  opts: { name: string } & Record<string, unknown>,
  g: Globals,
): Promise<void> {
  const client = new Client(g);
  const size = statSync(file).size;
  const q = uploadQuery(file, opts);
  const format = q.get('format');
  const type = (format && CONTENT_TYPES[format]) ?? 'application/octet-stream';
  const bar = uploadBar(size, !g.json);
  const t0 = performance.now();
  let sent = 0;
  const res = await postFile(
    client,
    `/api/v1/datasets/${encodeURIComponent(opts.name)}?${q.toString()}`,
    file,
    type,
    (bytes) => {
      sent = bytes;
      bar.update(bytes);
      if (bytes === size) {
        bar.stop();
        if (!g.json && process.stderr.isTTY) process.stderr.write('parsing and storing...\n');
      }
    },
  ).finally(() => bar.stop());
  if (res.status >= 400) throw uploadError(res.status, res.body);
  const v = res.body as VersionView;
  const s = (performance.now() - t0) / 1000;
  if (v.identical) {
    emit(
      !!g.json,
      v,
      () => `${v.name}: identical to v${v.version}, no new version (--force makes one anyway)`,
    );
    return;
  }
  emit(
    !!g.json,
    v,
    () =>
      `${v.name}@v${v.version}: ${n(v.count)} rows, ${shape(v)}, ${labels(v)} (${v.format}); ` +
      `${(sent / MB).toFixed(1)} MB in ${s.toFixed(1)} s = ${(sent / MB / s).toFixed(1)} MB/s, ${n(Math.round(v.count / s))} rows/s`,
  );
}

/** A feature's name: the stored one, else its number as the file counted (libsvm may count from 1). */
function featureName(v: VersionView, i: number): string {
  return v.featureNames?.[i] ?? String(i + (v.source?.indexBase ?? 0));
}

function showVersion(v: VersionView): string {
  const lines = [
    `${v.name}@v${v.version}  ${v.kind}, ${shape(v)}, ${labels(v)}, format ${v.format}`,
    `rows      ${n(v.count)}${v.split ? `  (train ${n(v.split.trainCount)}, validation ${n(v.split.validationCount)}; seed ${v.split.seed}, fraction ${v.split.validationFraction})` : ''}`,
    `stored    ${(v.bytes / MB).toFixed(2)} MB in ${v.shardCount} shards${v.parent ? `, appended to v${v.parent}` : ''}`,
    `sha256    ${v.sha256}`,
    `created   ${v.created}`,
  ];
  if (v.featureNames && v.featureNames.length <= 20) {
    lines.push(`features  ${v.featureNames.join(', ')}`);
  }
  if (v.labelNames && v.labelNames.length <= 20) lines.push(`labels    ${v.labelNames.join(', ')}`);
  const h = v.stats?.labels.histogram;
  if (h) lines.push(`per class ${h.map(n).join(', ')}`);
  const f = v.stats?.features;
  if (f) {
    const show = Math.min(8, f.mean.length);
    const rows = Array.from({ length: show }, (_, i) => [
      featureName(v, i),
      f.mean[i]?.toPrecision(4),
      f.std[i]?.toPrecision(4),
      f.missing[i],
    ]);
    lines.push('', table(rows, ['feature', 'mean', 'std', 'missing']));
    if (f.mean.length > show) lines.push(`... ${f.mean.length - show} more (--json for all)`);
  }
  return lines.join('\n');
}

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('push, list and inspect datasets');

  addUploadFlags(
    dataset
      .command('push <file>')
      .description(
        'upload a dataset file (libsvm, csv, jsonl, arff, tar/zip of images or IDX; gzip ok)',
      )
      .requiredOption('--name <name>', 'dataset name (letters, digits, . _ -)'),
  ).action(async (file: string, opts: Parameters<typeof push>[1], cmd: Command) => {
    await push(file, opts, cmd.optsWithGlobals<Globals>());
  });

  dataset
    .command('ls')
    .description('list datasets')
    .action(async (_opts, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const list = await new Client(g).get<
        { name: string; latest: number | null; versions: number; created: string }[]
      >('/api/v1/datasets');
      emit(!!g.json, list, () =>
        list.length === 0
          ? 'no datasets yet: swarmml dataset push FILE --name NAME'
          : table(
              list.map((d) => [
                d.name,
                d.latest === null ? null : `v${d.latest}`,
                d.versions,
                d.created,
              ]),
              ['NAME', 'LATEST', 'VERSIONS', 'CREATED'],
            ),
      );
    });

  dataset
    .command('show <ref>')
    .description('show a dataset (name) or one version with its statistics (name@v, name@latest)')
    .action(async (ref: string, _opts, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      const { name, version } = parseRef(ref);
      const base = `/api/v1/datasets/${encodeURIComponent(name)}`;
      if (version !== undefined) {
        const v = await client.get<VersionView>(`${base}/versions/${encodeURIComponent(version)}`);
        emit(!!g.json, v, () => showVersion(v));
        return;
      }
      const d = await client.get<{ name: string; latest: number | null; versions: VersionView[] }>(
        base,
      );
      emit(!!g.json, d, () =>
        [
          `${d.name}  latest ${d.latest === null ? '-' : `v${d.latest}`}`,
          table(
            d.versions.map((v) => [
              `v${v.version}`,
              n(v.count),
              v.format,
              shape(v),
              labels(v),
              v.parent ? `v${v.parent}` : null,
              v.created,
            ]),
            ['VERSION', 'ROWS', 'FORMAT', 'SHAPE', 'LABELS', 'PARENT', 'CREATED'],
          ),
        ].join('\n'),
      );
    });

  dataset
    .command('rm <ref>')
    .description('delete one version (name@v); refused while a model generation was trained on it')
    .option('--force', 'delete even if model generations were trained on it (admin)')
    .action(async (ref: string, opts: { force?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const { name, version } = parseRef(ref);
      if (version === undefined) throw new Error('name a version: swarmml dataset rm NAME@VERSION');
      const path = `/api/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}${opts.force ? '?force=true' : ''}`;
      const r = await new Client(g).delete<{ name: string; version: number }>(path);
      emit(!!g.json, r, () => `deleted ${r.name}@v${r.version}`);
    });
}
