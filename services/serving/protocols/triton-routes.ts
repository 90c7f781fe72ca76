/**
 * Triton's HTTP extensions beside KServe v2 that its tools call: model statistics
 * (`GET /v2/models[/<m>[/versions/<v>]]/stats`) and the repository index
 * (`POST /v2/repository/index`). Loading and unloading is the gateway's (the assignment).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BadInput, parseJson, readBody, sendError, sendJson } from '../../../shared/index.js';
import { parseVersion, type RouteContext } from './route-context.js';
import type { ModelStatsEntry } from './model-stats.js';

const STATS_PATH = /^\/v2\/models(?:\/([^/]+)(?:\/versions\/([^/]+))?)?\/stats\/?$/;
const INDEX_PATH = /^\/v2\/repository\/index\/?$/;

const IndexRequest = z.object({ ready: z.boolean().optional() }).strict();

/** One entry of Triton's repository index. */
export interface IndexEntry {
  name: string;
  version: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  reason: string;
}

/** Handles the Triton extension routes; returns false when the path is not one of them. */
export async function handleTriton(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: RouteContext,
): Promise<boolean> {
  const stats = req.method === 'GET' ? STATS_PATH.exec(path) : null;
  const index = req.method === 'POST' && INDEX_PATH.test(path);
  if (!stats && !index) return false;
  try {
    if (stats) sendJson(res, 200, { model_stats: modelStats(ctx, stats[1], stats[2]) });
    else sendJson(res, 200, await repositoryIndex(ctx, await readIndexRequest(req)));
  } catch (err) {
    sendError(req, res, err, ctx.log, 'protocol');
  }
  return true;
}

function modelStats(
  ctx: RouteContext,
  rawName: string | undefined,
  rawVersion: string | undefined,
): ModelStatsEntry[] {
  const loaded = (name: string) => ctx.fleet.get(name).loadedVersions().map(String);
  if (rawName === undefined) {
    return ctx.fleet.names().flatMap((name) => ctx.stats.report(name, loaded(name)));
  }
  const name = decodeURIComponent(rawName);
  const version = parseVersion(name, rawVersion);
  return ctx.stats.report(name, loaded(name), version === undefined ? undefined : String(version));
}

async function readIndexRequest(req: IncomingMessage): Promise<{ ready?: boolean }> {
  // Triton's clients send `{}` or nothing at all.
  const body = await readBody(req, 64 * 1024);
  if (body.length === 0) return {};
  const json = parseJson(body.toString('utf8'), 'repository index request');
  const parsed = IndexRequest.safeParse(json);
  if (!parsed.success) {
    throw new BadInput(
      `bad repository index request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Every served model: one line per loaded generation, or one saying why none is; then its
 * other generations, UNAVAILABLE, with the version policy's reason or "loads on request".
 */
async function repositoryIndex(ctx: RouteContext, q: { ready?: boolean }): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  const byName = new Map(ctx.fleet.hostsInfo().map((h) => [h.name, h]));
  for (const name of ctx.fleet.names()) {
    const host = byName.get(name);
    if (!host) {
      // a pipeline: unversioned, ready when its nodes are
      const ready = ctx.fleet.get(name).ready();
      out.push({
        name,
        version: '',
        state: ready ? 'READY' : 'UNAVAILABLE',
        reason: ready ? '' : 'a node model is not ready',
      });
      continue;
    }
    if (host.loaded.length > 0 && host.state !== 'restarting') {
      for (const gen of host.loaded) {
        out.push({ name, version: String(gen), state: 'READY', reason: '' });
      }
      if (!q.ready) out.push(...(await notLoaded(ctx, name, host.loaded)));
      continue;
    }
    out.push({
      name,
      version: host.gen === null ? '' : String(host.gen),
      state: host.state === 'loading' ? 'LOADING' : 'UNAVAILABLE',
      reason:
        host.state === 'restarting'
          ? 'its model process is restarting'
          : host.state === 'loading'
            ? ''
            : 'no generation is loaded',
    });
  }
  return q.ready ? out.filter((e) => e.state === 'READY') : out;
}

/** A model's generations that are not loaded here, and why (read from the registry). */
async function notLoaded(ctx: RouteContext, name: string, loaded: number[]): Promise<IndexEntry[]> {
  const host = ctx.fleet.host(name);
  if (!host) return [];
  const out: IndexEntry[] = [];
  for (const gen of await host.versions()) {
    if (loaded.includes(gen)) continue;
    const why = await host.refusal(gen);
    out.push({
      name,
      version: String(gen),
      state: 'UNAVAILABLE',
      reason: why ?? 'not loaded: served on its first request',
    });
  }
  return out;
}
