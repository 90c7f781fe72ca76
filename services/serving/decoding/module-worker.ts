/**
 * Starts a worker thread on a module beside this one (the request decoder), from .ts under tsx
 * (tests, dev) as from .js after the build: the same call works in both.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Node flags for a worker: the loader hooks (tsx) yes, the test runner's flags no. */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect'));
}

/**
 * A worker running `module` (a URL of a file beside the caller, any extension: the caller's
 * own extension is used, so `new URL('./x.js', import.meta.url)` finds x.ts under tsx).
 */
export function startModuleWorker(
  module: URL,
  name: string,
  extra: Pick<WorkerOptions, 'resourceLimits' | 'workerData'> = {},
): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(module.href.replace(/\.(js|ts)$/, ext));
  const opts = { execArgv: workerExecArgv(), name, ...extra };
  if (ext !== '.ts') return new Worker(url, opts);
  // Node 20 does not run a worker's .ts entry through hooks given by --import, so under tsx
  // the worker registers tsx itself (resolved from here, not from the cwd) before loading.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...opts, eval: true });
}
