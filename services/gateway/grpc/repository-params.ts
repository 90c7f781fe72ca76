/**
 * The parameters of Triton's repository load and unload, over HTTP (`{"parameters": {...}}`)
 * and gRPC (`map<string, ModelRepositoryParameter>`), read the same way:
 * - `version`: the generation to load or unload (a string, as Triton's clients send
 *   parameters, or a number); without it, the whole model;
 * - `unload_dependents` (unload): accepted; pipelines over the model stop answering either way,
 *   since a pipeline is served only while its node models are;
 * - `config` and `file:<path>` (load): refused: models come from the registry, not from files.
 */
import { z } from 'zod';
import { BadInput } from '../../../shared/index.js';

export interface RepositoryParams {
  version?: number;
  unloadDependents: boolean;
}

const Generation = z.union([
  z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'a generation number (1, 2, ...)')
    .transform(Number),
]);

const Params = z
  .object({
    version: Generation.optional(),
    unload_dependents: z.boolean().optional(),
  })
  .strict();

/** The HTTP body: nothing, `{}` or `{"parameters": {...}}`. */
export const RepositoryBody = z.object({
  parameters: z.record(z.string(), z.unknown()).optional(),
});

/** Plain parameter values → what load and unload act on; a 400 naming the bad one. */
export function repositoryParams(raw: Record<string, unknown> | undefined): RepositoryParams {
  const given = raw ?? {};
  for (const key of Object.keys(given)) {
    if (key === 'config' || key.startsWith('file:')) {
      throw new BadInput(
        `parameters.${key.slice(0, 60)} is not supported: models are loaded from the registry (swarmml model upload), not from files or configs`,
      );
    }
  }
  const parsed = Params.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || (issue as { keys?: string[] }).keys?.join(', ') || '';
    throw new BadInput(`parameters${where ? `.${where}` : ''}: ${issue.message}`);
  }
  return {
    ...(parsed.data.version === undefined ? {} : { version: parsed.data.version }),
    unloadDependents: parsed.data.unload_dependents ?? false,
  };
}

/** gRPC's ModelRepositoryParameter map → plain values (the oneof's one field). */
export function fromGrpcParams(
  map: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!map) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(map)) {
    const v = p as Record<string, unknown> | null;
    if (!v) continue;
    if (v.bool_param !== undefined && v.bool_param !== null) out[key] = v.bool_param;
    else if (typeof v.int64_param === 'string' || typeof v.int64_param === 'number')
      out[key] = Number(v.int64_param); // proto-loader's longs: String
    else if (v.string_param !== undefined && v.string_param !== null) out[key] = v.string_param;
    else if (v.bytes_param !== undefined && v.bytes_param !== null) out[key] = v.bytes_param;
  }
  return out;
}
