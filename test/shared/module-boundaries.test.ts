/**
 * Services talk through queues, WebSocket and HTTP, never by importing each other: what two
 * services use lives in shared/ and is reached through its entry (index.ts, or errors.ts,
 * which imports nothing and suits worker threads). shared/ is the bottom layer: it imports
 * nothing from services/, cli/ or web/. And no module imports itself back through others.
 * Lint's pattern rules cannot follow `../` across folders, so this walks the real import
 * graph, read with TypeScript's own parser (comments and strings that look like imports are
 * not imports; `import type` is told apart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SHARED_ENTRIES = new Set(['shared/index.ts', 'shared/errors.ts']);
const PROJECT_DIRS = ['services', 'shared', 'cli', 'web'];

interface Import {
  spec: string;
  /** `import type` / `export type`: erased when compiled, so nothing runs at load time. */
  typeOnly: boolean;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...(await tsFiles(p)));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The relative imports of one source: static, re-exports and `import('...')` with a literal. */
function relativeImports(source: string): Import[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, false);
  const found: Import[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (spec && ts.isStringLiteralLike(spec) && /^\.{1,2}\//.test(spec.text)) {
      found.push({ spec: spec.text, typeOnly });
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      // With verbatimModuleSyntax, `import { type A }` still loads the module; only
      // `import type` is erased.
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Every project module (root-relative, `/`-separated) and the modules it imports. */
async function importGraph(): Promise<Map<string, Map<string, Import>>> {
  const graph = new Map<string, Map<string, Import>>();
  for (const dir of PROJECT_DIRS) {
    for (const file of await tsFiles(path.join(root, dir))) {
      const edges = new Map<string, Import>();
      for (const imp of relativeImports(await readFile(file, 'utf8'))) {
        const target = path
          .relative(root, path.resolve(path.dirname(file), imp.spec))
          .split(path.sep)
          .join('/')
          .replace(/\.js$/, '.ts');
        // A module imported both ways counts as loaded at run time.
        const prev = edges.get(target);
        edges.set(target, { spec: imp.spec, typeOnly: imp.typeOnly && (prev?.typeOnly ?? true) });
      }
      graph.set(path.relative(root, file).split(path.sep).join('/'), edges);
    }
  }
  return graph;
}

function boundaryViolations(graph: Map<string, Map<string, Import>>): string[] {
  const found: string[] = [];
  for (const [from, edges] of graph) {
    const [top, service] = from.split('/');
    for (const target of edges.keys()) {
      if (top === 'services') {
        const inOwnService = target.startsWith(`services/${service}/`);
        if (!inOwnService && !SHARED_ENTRIES.has(target)) found.push(`${from} imports ${target}`);
      } else if (top === 'shared' && /^(services|cli|web)\//.test(target)) {
        // Types included: a shared module shaped by a service's types is still tied to it.
        found.push(`${from} imports ${target}`);
      }
    }
  }
  return found;
}

/**
 * The import cycles of `graph`, one line per strongly connected component, each showing one
 * concrete loop through it (Tarjan's algorithm, iterative so deep chains cannot overflow).
 */
function findCycles(graph: Map<string, Iterable<string>>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const succ = (v: string) => [...(graph.get(v) ?? [])].filter((w) => graph.has(w));
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { v: string; edges: string[]; i: number }[] = [];
    const enter = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      work.push({ v, edges: succ(v), i: 0 });
    };
    enter(start);
    while (work.length) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.edges.length) {
        const w = frame.edges[frame.i++]!;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(frame.v)!));
      if (low.get(frame.v) === index.get(frame.v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.v);
        if (component.length > 1 || succ(frame.v).includes(frame.v)) components.push(component);
      }
    }
  }
  return components.map((c) => loopThrough(c, succ).join(' -> '));
}

/** One loop from the component's first module (in name order) back to itself. */
function loopThrough(component: string[], succ: (v: string) => string[]): string[] {
  const members = new Set(component);
  const first = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [first];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of succ(v)
      .filter((x) => members.has(x))
      .sort()) {
      if (w === first) {
        const loop = [first];
        for (
          let at: string | undefined = v;
          at !== undefined && at !== first;
          at = cameFrom.get(at)
        ) {
          loop.splice(1, 0, at);
        }
        return [...loop, first];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return component;
}

/**
 * The graph of what loads at run time. A cycle's harm is one module running against another
 * that has not finished loading (exports still undefined, TDZ errors); `import type` is
 * erased before anything runs, so it cannot cause that and is left out.
 */
function runtimeGraph(graph: Map<string, Map<string, Import>>): Map<string, string[]> {
  return new Map(
    [...graph].map(([from, edges]) => [
      from,
      [...edges].filter(([, imp]) => !imp.typeOnly).map(([to]) => to),
    ]),
  );
}

test('no service imports another, shared/ is reached only through its entries and imports no service, CLI or dashboard', async () => {
  assert.deepEqual(boundaryViolations(await importGraph()), []);
});

test('the project modules import no cycle (type-only imports aside)', async () => {
  const graph = await importGraph();
  assert.ok(graph.size > 100, `walked ${graph.size} modules`);
  assert.deepEqual(findCycles(runtimeGraph(graph)), []);
});

test('the import walk sees imports that cross services, and tells type-only ones apart', () => {
  const source = [
    "import { a } from '../../serving/x.js';",
    "const m = await import('../trainer/y.js');",
    "import z from 'zod';",
    "import type { T } from './types.js';",
    "import { type U } from './types-too.js';",
    "export * from './reexport.js';",
    "export type { V } from './v.js';",
    "// import { no } from '../commented.js';",
    'const s = "from \'../in-a-string.js\'";',
  ].join('\n');
  assert.deepEqual(relativeImports(source), [
    { spec: '../../serving/x.js', typeOnly: false },
    { spec: '../trainer/y.js', typeOnly: false },
    { spec: './types.js', typeOnly: true },
    { spec: './types-too.js', typeOnly: false },
    { spec: './reexport.js', typeOnly: false },
    { spec: './v.js', typeOnly: true },
  ]);
});

test('the boundary check flags shared/ importing a service, the CLI or the dashboard', () => {
  const imp = (typeOnly = false): Import => ({ spec: 'x', typeOnly });
  const graph = new Map([
    ['shared/runtime/a.ts', new Map([['services/gateway/app.ts', imp()]])],
    ['shared/http/b.ts', new Map([['cli/client.ts', imp(true)]])],
    ['shared/c.ts', new Map([['web/src/api.ts', imp()]])],
    ['shared/d.ts', new Map([['shared/runtime/a.ts', imp()]])],
    ['services/serving/e.ts', new Map([['shared/index.ts', imp()]])],
    ['services/trainer/f.ts', new Map([['services/serving/e.ts', imp()]])],
  ]);
  assert.deepEqual(boundaryViolations(graph), [
    'shared/runtime/a.ts imports services/gateway/app.ts',
    'shared/http/b.ts imports cli/client.ts',
    'shared/c.ts imports web/src/api.ts',
    'services/trainer/f.ts imports services/serving/e.ts',
  ]);
});

test('the cycle finder finds a synthetic cycle, a self-import and nothing in a DAG', () => {
  const graph = new Map<string, string[]>([
    ['a.ts', ['b.ts', 'x.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts', 'd.ts']],
    ['d.ts', []],
    ['s.ts', ['s.ts']],
    ['x.ts', ['d.ts', 'outside.ts']],
  ]);
  assert.deepEqual(findCycles(graph).sort(), ['a.ts -> b.ts -> c.ts -> a.ts', 's.ts -> s.ts']);
  graph.set('c.ts', ['d.ts']);
  graph.set('s.ts', []);
  assert.deepEqual(findCycles(graph), []);
});

test('a type-only import closes no cycle, a value import does', () => {
  const graph = new Map([
    ['a.ts', new Map([['b.ts', { spec: './b.js', typeOnly: false }]])],
    ['b.ts', new Map([['a.ts', { spec: './a.js', typeOnly: true }]])],
  ]);
  assert.deepEqual(findCycles(runtimeGraph(graph)), []);
  graph.get('b.ts')!.set('a.ts', { spec: './a.js', typeOnly: false });
  assert.deepEqual(findCycles(runtimeGraph(graph)), ['a.ts -> b.ts -> a.ts']);
});
