/**
 * The platform's modules as the bench's servers load them: compiled (`dist/`, what `npm start`
 * and the images run) unless BENCH_BUILD=source. The bench itself runs under tsx, and source
 * loaded through tsx costs more per request than the compiled code (esbuild's keepNames wraps
 * every function made on the hot path in a `__name` call): measuring source would charge
 * serving and the gateway for the bench's loader. A `dist/` older than a source file is
 * refused, so that a forgotten `npm run build` cannot measure old code.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const BUILD: 'dist' | 'source' = process.env.BENCH_BUILD === 'source' ? 'source' : 'dist';

/** Newest modification time (ms) of a .ts file under these folders. */
function newestSource(dirs: string[]): { file: string; ms: number } {
  let newest = { file: '', ms: 0 };
  for (const dir of dirs) {
    for (const rel of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) {
      if (!rel.endsWith('.ts')) continue;
      const ms = statSync(join(ROOT, dir, rel)).mtimeMs;
      if (ms > newest.ms) newest = { file: join(dir, rel), ms };
    }
  }
  return newest;
}

let checked = false;
function checkBuild(): void {
  if (checked || BUILD === 'source') return;
  checked = true;
  const built = join(ROOT, 'dist/services/serving/app.js');
  let builtMs: number;
  try {
    builtMs = statSync(built).mtimeMs;
  } catch {
    throw new Error('bench: no dist/ to measure; run `npm run build` (or set BENCH_BUILD=source)');
  }
  const src = newestSource(['services', 'shared']);
  if (src.ms > builtMs) {
    throw new Error(
      `bench: dist/ is older than ${src.file}; run \`npm run build\` (or set BENCH_BUILD=source)`,
    );
  }
}

async function load<T>(rel: string): Promise<T> {
  checkBuild();
  const file = BUILD === 'dist' ? join(ROOT, 'dist', `${rel}.js`) : join(ROOT, `${rel}.ts`);
  return (await import(pathToFileURL(file).href)) as T;
}

export const shared = () => load<typeof import('../../../shared/index.js')>('shared/index');
export const servingApp = () =>
  load<typeof import('../../../services/serving/app.js')>('services/serving/app');
export const servingConfig = () =>
  load<typeof import('../../../services/serving/config.js')>('services/serving/config');
export const modelSource = () =>
  load<typeof import('../../../services/serving/hosting/model-source.js')>(
    'services/serving/hosting/model-source',
  );
export const directServer = () =>
  load<typeof import('../../../services/serving/direct-server.js')>(
    'services/serving/direct-server',
  );
export const gatewayApp = () =>
  load<typeof import('../../../services/gateway/app.js')>('services/gateway/app');
export const gatewayConfig = () =>
  load<typeof import('../../../services/gateway/config.js')>('services/gateway/config');

/** What a serving contender needs: its app, config, an in-memory registry and a logger. */
export async function serving() {
  const [app, config, source, common] = await Promise.all([
    servingApp(),
    servingConfig(),
    modelSource(),
    shared(),
  ]);
  return {
    buildApp: app.buildApp,
    loadConfig: config.loadConfig,
    InMemoryModelSource: source.InMemoryModelSource,
    createLogger: common.createLogger,
  };
}
