/**
 * The names and ids that requests carry (in paths, queries and bodies), as zod schemas used
 * wherever they enter. Each of them ends up in a Redis key (`session:<id>`, `{<name>}`), so
 * none may hold ':' (which would make `<uuid>:seq` name another key, a WRONGTYPE at best),
 * braces (hash tags), '/', '%', whitespace or control characters, nor start with '.', '_' or
 * '-' (`..`). shared/store's checkName applies the same rule to names, as the last guard.
 */
import { z } from 'zod';

/** 1-128 of A-Z a-z 0-9 . _ -, not starting with . _ - (shared/store/names.ts: NAME). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const ModelName = z
  .string()
  .regex(NAME_PATTERN, 'letters, digits, ".", "_" and "-"; at most 128 characters')
  .describe('model name');

export const DatasetName = z
  .string()
  .regex(
    NAME_PATTERN,
    'invalid dataset name: use 1-128 of A-Z a-z 0-9 . _ - (not starting with . _ -)',
  )
  .describe('dataset name');

/**
 * A session id (a UUID, or `retrain-<model>-<dataset>-v<n>` for a retraining), or a unique
 * prefix of one. Longer than a name: a retraining's id holds two names.
 */
export const SessionId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,299}$/,
    'letters, digits, ".", "_" and "-", not starting with ".", "_" or "-"; at most 300 characters',
  )
  .describe('session id, or a unique prefix of 6 or more characters');

/** A generation number in a path: 1, 2, 3 ... (digits only: no `1e3`, ` 1` or `0x10`). */
export const GenerationNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'a generation number: 1, 2, 3 ...')
  .transform(Number)
  .describe('generation number, from 1');

/** An API token's id (12 hex characters as issued; `admin` for the bootstrap token). */
export const TokenId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a token id: letters, digits, ".", "_" and "-"')
  .describe('token id, as listed by GET /api/v1/tokens');
