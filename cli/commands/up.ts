import type { Command } from 'commander';
import { localSettings } from '../local/settings.js';
import { startLocalMode } from '../local/local-mode.js';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'run swarmml in local mode: redis-server and every service as local processes (Ctrl-C stops all)',
    )
    .option('--no-demo', 'skip the demo (same as SWARMML_DEMO=0)')
    .action(async (opts: { demo: boolean }) => {
      const s = localSettings();
      const local = await startLocalMode(s);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\n[swarmml]         ${signal}: stopping services and redis-server\n`);
        void local.stop().then(() => process.exit(0));
      };
      // The services and redis-server run in process groups of their own: a terminal's Ctrl-C
      // reaches only this process, which stops them in order (the gateway first, Redis last).
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stop(sig));
      if (s.demo && opts.demo) {
        const { runDemo } = await import('../demo.js');
        await runDemo({ url: local.url, token: local.token }).catch((err: unknown) => {
          process.stdout.write(`[demo]            failed: ${(err as Error).message}\n`);
        });
      }
      process.stdout.write('[swarmml]         running; press Ctrl-C to stop\n');
    });
}
