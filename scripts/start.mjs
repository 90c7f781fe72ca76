#!/usr/bin/env node
// `npm start`: build if needed, then run local mode in the foreground (swarmml up).
import { existsSync } from 'node:fs';
import { spawnSync, spawn } from 'node:child_process';

if (!existsSync('dist/cli/main.js') || process.env.SWARMML_REBUILD === '1') {
  const b = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const child = spawn(process.execPath, ['dist/cli/main.js', 'up', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches the whole foreground group; forward TERM explicitly for `kill <npm pid>`.
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
process.on('SIGINT', () => {});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
