/**
 * Triton's repository RPCs over swarmml's serving assignment: the registry is the repository,
 * and "loaded" means assigned to the serving replicas (`swarmml serve`). Load and unload change
 * the assignment, then wait until the replicas' repository index shows the change, as
 * Triton's calls return once the model is loaded or unloaded.
 */
import { status } from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import {
  ALL_MODELS,
  assignModels,
  BadInput,
  ModelName,
  ModelRegistry,
  publishControl,
  readAssignment,
  readVersionFacts,
  unassignModels,
  versionVerdict,
  type Keys,
  type Logger,
} from '../../../shared/index.js';
import type { ReplicaHttp } from './replica-http.js';
import { GrpcStatusError } from './status.js';

/** One line of Triton's repository index (as serving's `POST /v2/repository/index` answers). */
export interface IndexEntry {
  name: string;
  version: string;
  state: string;
  reason: string;
}

export interface RepositoryDeps {
  redis: Redis;
  keys: Keys;
  replicas: ReplicaHttp;
  /** how long load and unload wait for the replicas @defaultValue 60000 */
  waitMs?: number;
  /** @defaultValue 200 */
  pollMs?: number;
  log?: Logger;
}

const READY_FIRST: Record<string, number> = { READY: 0, LOADING: 1, UNAVAILABLE: 2 };

/** Every replica's index, merged: per model and version the best state any replica reports. */
export async function repositoryIndex(
  replicas: ReplicaHttp,
  readyOnly: boolean,
): Promise<IndexEntry[]> {
  const answers = await replicas.everyReplica({
    method: 'POST',
    path: '/v2/repository/index',
    body: Buffer.from(JSON.stringify(readyOnly ? { ready: true } : {})),
    headers: { 'content-type': 'application/json' },
  });
  if (answers.length === 0) {
    throw new GrpcStatusError(status.UNAVAILABLE, 'no serving replica is reachable');
  }
  const best = new Map<string, IndexEntry>();
  for (const a of answers) {
    for (const e of replicas.parse<IndexEntry[]>(a)) {
      const key = `${e.name}\0${e.version}`;
      const had = best.get(key);
      if (!had || (READY_FIRST[e.state] ?? 3) < (READY_FIRST[had.state] ?? 3)) best.set(key, e);
    }
  }
  return [...best.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version),
  );
}

function modelName(raw: string | undefined): string {
  const parsed = ModelName.safeParse(raw ?? '');
  if (!parsed.success) throw new BadInput(`model_name: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

async function waitFor(
  d: RepositoryDeps,
  done: (index: IndexEntry[]) => boolean | string,
  what: string,
): Promise<void> {
  const deadline = Date.now() + (d.waitMs ?? 60_000);
  for (;;) {
    const verdict = done(await repositoryIndex(d.replicas, false));
    if (verdict === true) return;
    if (typeof verdict === 'string') throw new GrpcStatusError(status.FAILED_PRECONDITION, verdict);
    if (Date.now() > deadline) throw new GrpcStatusError(status.DEADLINE_EXCEEDED, what);
    await new Promise((r) => setTimeout(r, d.pollMs ?? 200));
  }
}

/**
 * Assigns the model (unless every model is served) and waits until a replica has it ready.
 * With `version`, that generation is also served whatever the version policy says (it joins
 * `Keys.modelLoaded`, every replica is told), and the wait is for it.
 */
export async function loadModel(
  d: RepositoryDeps,
  raw: string | undefined,
  version?: number,
): Promise<void> {
  const name = modelName(raw);
  const registry = new ModelRegistry(d.redis, d.keys);
  await registry.getModel(name); // NotFound for an unknown model
  if (version !== undefined) {
    await registry.getGeneration(name, version); // NotFound for an unknown generation
    await d.redis.sadd(d.keys.modelLoaded(name), String(version));
    await publishControl(d.redis, d.keys, { type: 'loaded', model: name });
  }
  const assignment = await readAssignment(d.redis, d.keys);
  if (assignment !== ALL_MODELS && !assignment.includes(name)) {
    await assignModels(d.redis, d.keys, [name]);
  }
  await waitFor(
    d,
    (index) => {
      const lines = index.filter(
        (e) => e.name === name && (version === undefined || e.version === String(version)),
      );
      if (lines.some((e) => e.state === 'READY')) return true;
      const failed = lines.find((e) => e.state === 'UNAVAILABLE');
      // a generation is listed UNAVAILABLE (with the policy's reason) until the replica has
      // acted on the load: only a whole model's failure is final
      if (failed && version === undefined && !lines.some((e) => e.state === 'LOADING')) {
        return `model "${name}" is assigned but cannot be served: ${failed.reason || 'unavailable'}`;
      }
      return false;
    },
    `model "${name}" is assigned, but no serving replica had it ready in time (replicas pinned by MODELS do not follow the assignment)`,
  );
}

/**
 * Takes the model off the assignment and waits until no replica lists it. With every model
 * served, the assignment becomes every other registered model; the last model cannot go,
 * since an empty assignment means every model.
 */
export async function unloadModel(
  d: RepositoryDeps,
  raw: string | undefined,
  version?: number,
): Promise<void> {
  const name = modelName(raw);
  const registry = new ModelRegistry(d.redis, d.keys);
  await registry.getModel(name); // NotFound for an unknown model
  if (version !== undefined) return unloadGeneration(d, registry, name, version);
  // the operator's loads go with the model: loaded again, it serves by its policy alone
  await d.redis.del(d.keys.modelLoaded(name));
  const assignment = await readAssignment(d.redis, d.keys);
  let rest: string[];
  if (assignment === ALL_MODELS) {
    rest = (await registry.listModels()).map((m) => m.name).filter((m) => m !== name);
  } else {
    if (!assignment.includes(name)) return; // not loaded: nothing to do, as in Triton
    rest = assignment.filter((m) => m !== name);
  }
  if (rest.length === 0) {
    throw new GrpcStatusError(
      status.FAILED_PRECONDITION,
      `model "${name}" is the only one served; an empty assignment means every model, so it cannot be unloaded`,
    );
  }
  if (assignment === ALL_MODELS) {
    const key = d.keys.servingAssignment();
    await d.redis
      .multi()
      .del(key)
      .sadd(key, ...rest)
      .exec();
    await publishControl(d.redis, d.keys, { type: 'assignment' });
  } else {
    await unassignModels(d.redis, d.keys, [name]);
  }
  await waitFor(
    d,
    (index) => !index.some((e) => e.name === name),
    `model "${name}" is unassigned, but a serving replica still lists it`,
  );
}

/**
 * Takes one generation off the operator's loads; when the version policy no longer serves
 * it, waits until no replica has it loaded. Production and the generations the policy, a
 * label or a rollout serve stay served, as the answer says nothing against.
 */
async function unloadGeneration(
  d: RepositoryDeps,
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<void> {
  await registry.getGeneration(name, version); // NotFound for an unknown generation
  await d.redis.srem(d.keys.modelLoaded(name), String(version));
  await publishControl(d.redis, d.keys, { type: 'loaded', model: name });
  const facts = await readVersionFacts(d.redis, d.keys, registry, name, d.log);
  if (versionVerdict(facts, version) === null) return;
  await waitFor(
    d,
    (index) =>
      !index.some((e) => e.name === name && e.version === String(version) && e.state === 'READY'),
    `generation ${version} of "${name}" is unloaded, but a serving replica still has it loaded`,
  );
}
