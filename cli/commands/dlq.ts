import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit, table } from '../output.js';
import type { Globals } from './delivery.js';

interface Dead {
  id: string;
  job: { ruleId: string; channel: string; predictionId: string };
  failedReason: string;
  attempts: number;
  failedAt: number;
}

/** `swarmml dlq ls|replay|drop`: deliveries whose retries are exhausted. */
export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead deliveries (retries exhausted)');
  dlq
    .command('ls')
    .description('list dead deliveries, oldest first')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { limit: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const r = await new Client(g).get<{ dead: Dead[]; total: number }>(
        `/api/v1/deliveries/dead?limit=${encodeURIComponent(o.limit)}`,
      );
      emit(!!g.json, r, () =>
        [
          `${r.total} dead`,
          table(
            r.dead.map((d) => [
              d.id,
              d.job.ruleId,
              d.job.channel,
              d.job.predictionId,
              d.attempts,
              new Date(d.failedAt).toISOString().slice(0, 19),
              d.failedReason.slice(0, 60),
            ]),
            ['ID', 'RULE', 'CHANNEL', 'PREDICTION', 'TRIES', 'FAILED', 'REASON'],
          ),
        ].join('\n'),
      );
    });
  deadAction(dlq, 'replay', 'send dead deliveries again (to the channel as configured now)');
  deadAction(
    dlq,
    'drop',
    'remove dead deliveries without sending them (their message no longer matters)',
  );
}

/**
 * `dlq replay|drop [ids...] [--all]`: the same request to `/deliveries/dead/<verb>`, answered
 * with what was acted on and what was not found. `--all` is asked for by name, never implied by
 * no ids (a drop is for good), and never mixed with ids.
 */
function deadAction(dlq: Command, verb: 'replay' | 'drop', description: string): void {
  const done = verb === 'replay' ? 'replayed' : 'dropped';
  dlq
    .command(`${verb} [ids...]`)
    .description(description)
    .option('--all', `${verb} every dead delivery`)
    .action(async (ids: string[], o: { all?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      if (!o.all && ids.length === 0) throw new Error(`name ids to ${verb}, or --all`);
      if (o.all && ids.length > 0) throw new Error('name ids or --all, not both');
      const r = await new Client(g).post<Record<typeof done, string[]> & { missing: string[] }>(
        `/api/v1/deliveries/dead/${verb}`,
        o.all ? { all: true } : { ids },
      );
      emit(!!g.json, r, () =>
        [
          `${done} ${r[done].length}`,
          ...(r.missing.length ? [`not found: ${r.missing.join(', ')}`] : []),
        ].join('\n'),
      );
    });
}
