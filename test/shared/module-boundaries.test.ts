/**
 * Services talk through queues, WebSocket and HTTP, never by importing each other: what two
 * services use lives in shared/ and is reached through its entry (index.ts, or errors.ts,
 * which imports nothing and suits worker threads). Lint's pattern rules cannot follow `../`
 * across folders, so this walks the real import graph instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SHARED_ENTRIES = new Set(['shared/index.ts', 'shared/errors.ts']);

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await tsFiles(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function relativeImports(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) specs.push(m[1]!);
  return specs;
}

async function violations(): Promise<string[]> {
  const found: string[] = [];
  for (const file of await tsFiles(path.join(root, 'services'))) {
    const from = path.relative(root, file).split(path.sep);
    const service = from[1]!;
    for (const spec of relativeImports(await readFile(file, 'utf8'))) {
      const target = path
        .relative(root, path.resolve(path.dirname(file), spec))
        .split(path.sep)
        .join('/')
        .replace(/\.js$/, '.ts');
      const inOwnService = target.startsWith(`services/${service}/`);
      const sharedEntry = SHARED_ENTRIES.has(target);
      if (!inOwnService && !sharedEntry) found.push(`${from.join('/')} imports ${target}`);
    }
  }
  return found;
}

test('no service imports another service, and shared/ is reached only through its entries', async () => {
  assert.deepEqual(await violations(), []);
});

test('the import walk sees imports that cross services', () => {
  const specs = relativeImports(
    "import { a } from '../../serving/x.js';\nconst m = await import('../trainer/y.js');\nimport z from 'zod';",
  );
  assert.deepEqual(specs, ['../../serving/x.js', '../trainer/y.js']);
});
