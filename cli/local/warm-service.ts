/**
 * A service started ahead of need (local mode's spare gateway): loads the service's modules,
 * says so over IPC, then waits. On `{ go: true }` it runs the service's main.ts, whose imports
 * are all loaded by then, so it listens in a fraction of a cold start. If the supervisor goes
 * away first (the IPC channel closes), it ends.
 *
 * argv: the service's main module (as serviceCommand gives it).
 */
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const main = process.argv[2];
if (!main || !process.send) {
  process.stderr.write('warm-service: run by local mode with an IPC channel and a main module\n');
  process.exit(2);
}
const dir = dirname(main);
const ext = extname(main);
// main.ts only wires (the house style): its module graph is the service's app and config.
await Promise.all(
  ['app', 'config'].map((m) => import(pathToFileURL(join(dir, `${m}${ext}`)).href)),
);
const onDisconnect = () => process.exit(0);
process.once('disconnect', onDisconnect);
process.once('message', (m: { go?: boolean }) => {
  process.off('disconnect', onDisconnect);
  if (m.go) void import(pathToFileURL(main).href);
  else process.exit(0);
});
process.send({ ready: true });
