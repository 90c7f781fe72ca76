import { BadInput } from '../errors.js';

// Braces would break the `{name}` hash tag and ':' would blur key boundaries.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws BadInput unless `name` is a legal model or dataset name. */
export function checkName(name: string, what: 'model' | 'dataset'): string {
  if (!NAME.test(name)) {
    throw new BadInput(
      `invalid ${what} name ${JSON.stringify(name)}: use 1-128 of A-Z a-z 0-9 . _ - (not starting with . _ -)`,
      { name },
    );
  }
  return name;
}

/** JSON.parse of an optional stored field. */
export function parseJson<T>(raw: string | undefined | null, fallback: T): T {
  if (raw === undefined || raw === null || raw === '') return fallback;
  return JSON.parse(raw) as T;
}
