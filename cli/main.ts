import { Command } from 'commander';
import { registerUp } from './commands/up.js';
import { registerStatus } from './commands/status.js';
import { registerSessions } from './commands/sessions.js';
import { registerModels } from './commands/models.js';
import { registerDataset } from './commands/dataset.js';
import { registerServe } from './commands/serve.js';
import { registerTokens } from './commands/tokens.js';
import { registerDelivery } from './commands/delivery.js';
import { registerSources } from './commands/sources.js';
import { registerDlq } from './commands/dlq.js';
import { registerRollout } from './commands/rollout.js';
import { ApiError } from './client.js';

const program = new Command('swarmml')
  .description(
    'swarmml: datasets, training sessions, generational models and fast serving on Redis + Docker Swarm',
  )
  .option('--url <url>', 'gateway URL (default $SWARMML_URL or http://127.0.0.1:$SWARMML_PORT)')
  .option('--token <token>', 'API token (default $SWARMML_TOKEN or $SWARMML_HOME/admin.token)')
  .option('--json', 'machine-readable JSON output')
  .showHelpAfterError();

registerUp(program);
registerStatus(program);
registerSessions(program);
registerModels(program);
registerDataset(program);
registerServe(program);
registerTokens(program);
registerDelivery(program);
registerSources(program);
registerDlq(program);
registerRollout(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const msg = err instanceof ApiError ? err.message : (err as Error).message;
  process.stderr.write(`swarmml: ${msg}\n`);
  process.exit(err instanceof ApiError && err.status < 500 ? 2 : 1);
}
