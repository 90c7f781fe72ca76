import type { Command } from 'commander';
import { Client } from '../client.js';
import { emit, table } from '../output.js';

type Globals = { url?: string; token?: string; json?: boolean };

interface Reading {
  gate: string;
  value: number | null;
  threshold: number | null;
  passed: boolean | null;
}
interface RolloutState {
  status: string;
  production: number | null;
  challenger: number;
  shadows: number[];
  phase: string;
  step: number;
  canaryPercent: number;
  policy: { mode: string; canarySteps: number[]; minSamples: number; stepIntervalS: number };
  startedAt: number;
  stepStartedAt: number;
  lastReadings: Reading[];
  reason: string | null;
}
interface RolloutView {
  model: string;
  rollout: RolloutState | null;
  labels: Record<string, number>;
  online: Record<string, Record<string, number>>;
}

const since = (ms: number) => `${Math.max(0, Math.round((Date.now() - ms) / 1000))} s ago`;
const pct = (n: number, d: number) => (d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '-');

/** The rollout as a few lines: where it is, its gates, and each generation's live figures. */
export function showRollout(v: RolloutView): string {
  const r = v.rollout;
  const labels = Object.entries(v.labels)
    .map(([l, g]) => `${l}=${g}`)
    .join(' ');
  if (!r) return `${v.model}: no rollout${labels ? `  labels: ${labels}` : ''}`;
  const where =
    r.phase === 'shadow'
      ? 'shadow'
      : r.phase === 'canary'
        ? `canary ${r.canaryPercent}% (step ${r.step + 1} of ${r.policy.canarySteps.length})`
        : 'done';
  const lines = [
    `${v.model}: gen ${r.challenger} against production gen ${r.production ?? '-'}: ${r.status}, ${where}`,
    `mode ${r.policy.mode}, steps ${r.policy.canarySteps.join('/')}%, ${r.policy.minSamples} samples per step, gates read every ${r.policy.stepIntervalS} s; started ${since(r.startedAt)}, step began ${since(r.stepStartedAt)}`,
    `labels: ${labels || 'none'}`,
  ];
  if (r.reason) lines.push(`reason: ${r.reason}`);
  if (r.lastReadings.length > 0) {
    lines.push(
      table(
        r.lastReadings.map((g) => [
          g.gate,
          g.value ?? '-',
          g.threshold ?? '-',
          g.passed === null ? 'not counted yet' : g.passed ? 'pass' : 'FAIL',
        ]),
        ['GATE', 'VALUE', 'LIMIT', 'RESULT'],
      ),
    );
  }
  const gens = Object.entries(v.online);
  if (gens.length > 0) {
    lines.push(
      table(
        gens.map(([g, c]) => {
          const f = (k: string) => c[k] ?? 0;
          return [
            g,
            f('requests'),
            pct(f('errors'), f('requests')),
            f('shadowSent'),
            f('shadowDropped'),
            pct(f('shadowAgreed'), f('shadowCompared')),
            `${pct(f('feedbackCorrect'), f('feedback'))} of ${f('feedback')}`,
          ];
        }),
        ['GEN', 'REQUESTS', 'ERRORS', 'SHADOWED', 'DROPPED', 'AGREED', 'ONLINE ACCURACY'],
      ),
    );
  }
  return lines.join('\n');
}

/** `swarmml rollout show|promote|pause|resume|abort MODEL`: staged rollouts (docs/rollout.md). */
export function registerRollout(program: Command): void {
  const rollout = program
    .command('rollout')
    .description("a model's staged rollout: show it, or promote, pause, resume or abort it");
  rollout
    .command('show <model>')
    .description('the current (or last) rollout, its gate readings and live counters')
    .action(async (model: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const v = await new Client(g).get<RolloutView>(
        `/api/v1/models/${encodeURIComponent(model)}/rollout`,
      );
      emit(!!g.json, v, () => showRollout(v));
    });
  const verbs: [string, string][] = [
    ['promote', 'promote the challenger now, whatever its gates say (operator)'],
    ['pause', 'hold the rollout at its step (operator)'],
    ['resume', 'resume a paused rollout (operator)'],
    ['abort', 'stop the rollout: traffic back to production, the challenger rejected (operator)'],
  ];
  for (const [verb, what] of verbs) {
    rollout
      .command(`${verb} <model>`)
      .description(what)
      .option('--reason <text>', 'why; kept in the state and the event')
      .action(async (model: string, o: { reason?: string }, cmd: Command) => {
        const g = cmd.optsWithGlobals<Globals>();
        const v = await new Client(g).post<RolloutView>(
          `/api/v1/models/${encodeURIComponent(model)}/rollout/${verb}`,
          o.reason === undefined ? {} : { reason: o.reason },
        );
        emit(!!g.json, v, () => showRollout(v));
      });
  }
}
