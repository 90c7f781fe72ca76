import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { Client } from '../client.js';
import { emit, num, table } from '../output.js';
import { follow, type StreamedEvent } from '../ws-follow.js';
import { CreateSessionRequest, parseTrainerParams } from '../../shared/index.js';

type Globals = { url?: string; token?: string; json?: boolean };

interface Session {
  id: string;
  kind: string;
  state: string;
  request: { model?: string; dataset?: string; trainer?: string };
  exitCode?: number | null;
  flags: string[];
  reason?: string;
  created: string;
  started?: string;
  ended?: string;
  lastLogs?: string[];
  events?: StreamedEvent[];
}

function duration(s: Session): string {
  if (!s.started) return '-';
  const ms = (s.ended ? Date.parse(s.ended) : Date.now()) - Date.parse(s.started);
  return `${num(ms / 1000, 1)}s`;
}

/**
 * The defaults `train --help` shows, as the trainer and the session request resolve them
 * (shared/protocol): options left out are not sent, so these are what applies.
 */
const TRAINER_DEFAULTS = parseTrainerParams({ trainer: 'mlp' });
const SGD_LEARNING_RATE = parseTrainerParams({ trainer: 'mlp', optimizer: 'sgd' }).learningRate;
const SESSION_DEFAULTS = CreateSessionRequest.parse({ model: 'model', dataset: 'dataset' });
const dflt = (v: string | number) => ` (default: ${v})`;

function collectNumbers(v: string, prev: number[] = []): number[] {
  return [...prev, ...v.split(',').map((x) => Number(x.trim()))];
}

/** `--param k=v`, repeatable: the value as JSON when it parses (3, 0.1, true, [1,2]), else text. */
export function collectParams(
  v: string,
  prev: Record<string, unknown> = {},
): Record<string, unknown> {
  const eq = v.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError(`expected key=value, got "${v}"`);
  const raw = v.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return { ...prev, [v.slice(0, eq)]: value };
}

/**
 * Splits a command line into words as a shell would for plain words and quotes ('..', ".."),
 * without running one: the words become the session's container.command.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  let m: RegExpExecArray | null;
  let word: string | undefined;
  let lastEnd = -1;
  while ((m = re.exec(line)) !== null) {
    const part = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3] ?? '');
    // Adjacent pieces (--x="a b") are one word.
    if (word !== undefined && m.index === lastEnd) word += part;
    else {
      if (word !== undefined) words.push(word);
      word = part;
    }
    lastEnd = re.lastIndex;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function containerRequest(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const image = typeof o.image === 'string' ? o.image : undefined;
  // A local-mode worker runs in the event handler's directory, not this one: a script named
  // relative to here is sent as its absolute path. Inside an image, paths are the image's.
  const command =
    typeof o.command === 'string'
      ? splitCommand(o.command).map((w, i) =>
          i > 0 && !image && !isAbsolute(w) && existsSync(w) ? resolve(w) : w,
        )
      : undefined;
  if ((command || image) && o.trainer !== 'external') {
    throw new InvalidArgumentError('--command and --image go with --trainer external');
  }
  if (o.trainer === 'external' && !command && !image) {
    throw new InvalidArgumentError(
      '--trainer external needs --command (local mode) or --image (swarm mode)',
    );
  }
  if (command?.length === 0) throw new InvalidArgumentError('--command is empty');
  if (!command && !image) return undefined;
  return { ...(image ? { image } : {}), ...(command ? { command } : {}) };
}

export function registerSessions(program: Command): void {
  program
    .command('train')
    .description('start a training session and follow it live until it ends')
    .requiredOption('--model <name>', 'model name (generations are added to it)')
    .requiredOption('--dataset <name[@version]>', 'dataset, latest version by default')
    .option(
      '--trainer <kind>',
      'mlp | softmax | external (your own program: --command or --image)',
      SESSION_DEFAULTS.trainer,
    )
    .option(
      '--command <command line>',
      'external: the worker command in local mode, e.g. "python3 examples/pytorch/train.py" (its executable must be allow-listed: ALLOWED_COMMANDS)' +
        dflt('none'),
    )
    .option(
      '--image <image>',
      'external: the worker image in swarm mode, e.g. swarmml/trainer-torch:latest (allow-listed: ALLOWED_IMAGES)' +
        dflt('none'),
    )
    .option(
      '--param <key=value>',
      'a trainer parameter, repeatable (a JSON value, else a string): --param epochs=3 --param lr=0.001' +
        dflt('none'),
      collectParams,
    )
    .option(
      '--hidden <sizes>',
      `hidden layer sizes, e.g. 128 or 256,128 (mlp)${dflt(TRAINER_DEFAULTS.hidden.join(','))}`,
      collectNumbers,
    )
    .option('--epochs <n>', `epochs${dflt(TRAINER_DEFAULTS.epochs)}`, Number)
    .option('--batch-size <n>', `mini-batch size${dflt(TRAINER_DEFAULTS.batchSize)}`, Number)
    .option(
      '--lr <rate>',
      `learning rate${dflt(`${TRAINER_DEFAULTS.learningRate} with adam, ${SGD_LEARNING_RATE} with sgd`)}`,
      Number,
    )
    .option('--optimizer <name>', `adam | sgd${dflt(TRAINER_DEFAULTS.optimizer)}`)
    .option('--l2 <value>', `L2 penalty on weights${dflt(TRAINER_DEFAULTS.l2)}`, Number)
    .option('--seed <n>', `random seed${dflt(TRAINER_DEFAULTS.seed)}`, Number)
    .option(
      '--normalize <scaling>',
      'input scaling fitted on the training rows: auto | standard | minmax | none' +
        dflt(`${TRAINER_DEFAULTS.normalize}: standard for tabular data, 1/255 for image pixels`),
    )
    .option(
      '--impute <strategy>',
      `what fills a missing feature value: median | mean | zero${dflt(TRAINER_DEFAULTS.impute)}`,
    )
    .option('--device <device>', 'cpu | gpu', SESSION_DEFAULTS.device)
    .option('--priority <n>', `1 (most urgent) .. 100${dflt(SESSION_DEFAULTS.priority)}`, Number)
    .option(
      '--time-budget <seconds>',
      `stop after this many seconds${dflt(SESSION_DEFAULTS.timeBudgetS)}`,
      Number,
    )
    .option('--no-follow', `return once the session is queued${dflt('follow it live')}`)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      const params: Record<string, unknown> = {};
      const map: [string, string][] = [
        ['hidden', 'hidden'],
        ['epochs', 'epochs'],
        ['batchSize', 'batchSize'],
        ['lr', 'learningRate'],
        ['optimizer', 'optimizer'],
        ['l2', 'l2'],
        ['seed', 'seed'],
        ['normalize', 'normalize'],
        ['impute', 'impute'],
      ];
      for (const [from, to] of map) if (o[from] !== undefined) params[to] = o[from];
      Object.assign(params, o.param);
      const container = containerRequest(o);
      const body = {
        model: o.model,
        dataset: o.dataset,
        trainer: o.trainer,
        params,
        device: o.device,
        ...(container ? { container } : {}),
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
        ...(o.timeBudget !== undefined ? { timeBudgetS: o.timeBudget } : {}),
      };
      const created = await client.post<Session>('/api/v1/sessions', body);
      if (!o.follow) return emit(!!g.json, created, () => `session ${created.id} queued`);
      if (!g.json) process.stderr.write(`session ${created.id} queued\n`);
      const bar = g.json
        ? undefined
        : new cliProgress.SingleBar(
            {
              format:
                'epoch {value}/{total} |{bar}| loss {loss}  acc {acc}  val {val}  {sps} samples/s',
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
      let started = false;
      const events: StreamedEvent[] = [];
      // A candidate is decided after the platform has evaluated it, which may be after the
      // session ended: follow until the decision, for a while.
      let candidate: { model: unknown; gen: unknown } | undefined;
      let decided = false;
      let finished: string | undefined;
      const gaveUp = new AbortController();
      let waitTimer: NodeJS.Timeout | undefined;
      await follow(
        client,
        [`session:${created.id}`],
        (e) => {
          events.push(e);
          const ep = (e.payload ?? {}) as { model?: unknown; gen?: unknown; state?: string };
          if (e.kind === 'generation.candidate') candidate = { model: ep.model, gen: ep.gen };
          if (
            (e.kind === 'generation.promoted' || e.kind === 'generation.rejected') &&
            candidate !== undefined &&
            candidate.model === ep.model &&
            candidate.gen === ep.gen
          )
            decided = true;
          if (e.kind === 'session.finished') finished = ep.state;
          if (e.kind === 'epoch') {
            const p = e.payload as { epoch: number; epochs: number };
            const payload = epochBarFields(e.payload);
            if (!started) bar?.start(p.epochs, 0, payload);
            started = true;
            bar?.update(p.epoch, payload);
          } else if (!g.json && e.kind !== 'log' && e.kind !== 'session.state') {
            const line = `${e.kind}: ${describe(e)}`;
            if (started) bar?.stop();
            started = false;
            process.stderr.write(line + '\n');
          }
          if (finished === undefined) return false;
          const waiting = finished === 'succeeded' && candidate !== undefined && !decided;
          if (waiting && !waitTimer) {
            waitTimer = setTimeout(() => gaveUp.abort(), CANDIDATE_WAIT_MS);
          }
          return !waiting;
        },
        { since: '0-0', signal: gaveUp.signal },
      );
      clearTimeout(waitTimer);
      if (gaveUp.signal.aborted && !g.json) {
        process.stderr.write(
          `${String(candidate?.model)} gen ${String(candidate?.gen)} is not decided yet: it waits for the platform's evaluation\n`,
        );
      }
      bar?.stop();
      const final = await client.get<Session>(`/api/v1/sessions/${created.id}`);
      emit(
        !!g.json,
        final,
        () =>
          `session ${final.id} ${final.state}${final.exitCode != null ? ` (exit ${final.exitCode})` : ''}`,
      );
      if (final.state !== 'succeeded') process.exitCode = 1;
    });

  program
    .command('sessions')
    .description('list sessions, newest first')
    .option('--state <state>', 'only sessions in this state')
    .option('--limit <n>', 'how many', Number, 50)
    .action(async (o: { state?: string; limit: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const q = new URLSearchParams({
        limit: String(o.limit),
        ...(o.state ? { state: o.state } : {}),
      });
      const r = await new Client(g).get<{ items: Session[]; total: number }>(
        `/api/v1/sessions?${q}`,
      );
      emit(
        !!g.json,
        r,
        () =>
          table(
            r.items.map((s) => [
              s.id.slice(0, 8),
              s.kind,
              s.state,
              s.request.model,
              s.request.dataset,
              s.created.slice(0, 19),
              duration(s),
              s.exitCode,
              s.flags.join(',') || '',
            ]),
            ['ID', 'KIND', 'STATE', 'MODEL', 'DATASET', 'CREATED', 'DURATION', 'EXIT', 'FLAGS'],
          ) + `\n(${r.items.length} of ${r.total})`,
      );
    });

  program
    .command('session <id>')
    .description('show one session: state, placement, exit code, last log lines, events')
    .action(async (id: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const s = await new Client(g).get<Session>(`/api/v1/sessions/${encodeURIComponent(id)}`);
      emit(!!g.json, s, () =>
        [
          `session ${s.id}  ${s.kind}  ${s.state}${s.exitCode != null ? `  exit ${s.exitCode}` : ''}`,
          `model ${s.request.model}  dataset ${s.request.dataset}  trainer ${s.request.trainer}`,
          s.reason ? `reason: ${s.reason}` : '',
          s.flags.length ? `flags: ${s.flags.join(', ')}` : '',
          ...(s.events ?? []).map(
            (e) => `${e.time.slice(11, 23)}  ${e.kind.padEnd(22)} ${describe(e)}`,
          ),
          ...(s.lastLogs?.length ? ['last log lines:', ...s.lastLogs.map((l) => `  ${l}`)] : []),
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });

  program
    .command('stop <id>')
    .description('stop a session')
    .action(async (id: string, _o, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const s = await new Client(g).post<Session>(
        `/api/v1/sessions/${encodeURIComponent(id)}/stop`,
      );
      emit(!!g.json, s, () => `session ${s.id}: ${s.state}`);
    });

  program
    .command('events')
    .description('print the event archive; --follow streams new events live')
    .option('--follow', 'keep streaming')
    .option('--session <id>', 'only one session (its id, or 6+ leading characters of it)')
    .action(async (o: { follow?: boolean; session?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<Globals>();
      const client = new Client(g);
      // The live topic needs the full id: a shortened one (as `sessions` lists them) is
      // resolved first, and a wrong one fails here instead of printing nothing.
      const session = o.session
        ? await client.get<Session>(`/api/v1/sessions/${encodeURIComponent(o.session)}`)
        : undefined;
      const topic = session ? `session:${session.id}` : 'events';
      const print = (e: StreamedEvent) =>
        process.stdout.write(
          g.json
            ? JSON.stringify(e) + '\n'
            : `${e.time}  ${(e.sessionId ?? '').slice(0, 8).padEnd(8)}  ${e.kind.padEnd(22)} ${describe(e)}\n`,
        );
      const ac = new AbortController();
      // Without --follow: replay the archive, then stop once it has been idle briefly.
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        if (o.follow) return;
        clearTimeout(idle);
        idle = setTimeout(() => ac.abort(), 500);
      };
      arm();
      await follow(
        client,
        [topic],
        (e) => {
          print(e);
          arm();
        },
        { since: '0-0', signal: ac.signal },
      );
    });
}

/** The progress bar's fields for one `epoch` event; any of its numbers may be null or absent. */
export function epochBarFields(payload: unknown): Record<'loss' | 'acc' | 'val' | 'sps', string> {
  const p = (payload ?? {}) as Record<string, unknown>;
  return {
    loss: lossText(p.loss),
    acc: num(p.trainAccuracy),
    val: num(p.valAccuracy),
    sps: num(p.samplesPerSec, 0),
  };
}

/** How long `train --follow` waits, after its session ended, for its candidate's decision. */
const CANDIDATE_WAIT_MS = 120_000;

/** Measured figures as `accuracy 0.93 logLoss 0.21`. */
function figures(m: unknown): string {
  if (typeof m !== 'object' || m === null) return '-';
  return Object.entries(m as Record<string, unknown>)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(' ');
}

/** An epoch's loss: null there means the loss was NaN or infinite (JSON has no NaN). */
function lossText(loss: unknown): string {
  return num(loss === null ? NaN : loss);
}

export function describe(e: StreamedEvent): string {
  const p = (e.payload ?? {}) as Record<string, any>;
  switch (e.kind) {
    case 'epoch':
      return `epoch ${p.epoch}/${p.epochs} loss ${lossText(p.loss)} val ${num(p.valAccuracy)}`;
    case 'decision':
      return `${p.action}: ${p.reason}`;
    case 'session.finished':
      return `${p.state}${p.exitCode != null ? ` exit ${p.exitCode}` : ''}${p.reason ? ` (${p.reason})` : ''}`;
    case 'generation.candidate':
      return `${p.model} gen ${p.gen} ${JSON.stringify(p.metrics ?? {})}`;
    case 'generation.evaluated':
      return p.error
        ? `${p.model} gen ${p.gen} could not be evaluated: ${p.error}`
        : `${p.model} gen ${p.gen} measured ${figures(p.metrics)} on ${p.rows?.dataset}@${p.rows?.version} (${p.rows?.count} held-out rows); baseline ${figures(p.baseline?.metrics)}`;
    case 'generation.promoted':
      return `${p.model} gen ${p.gen} is production${p.previous ? ` (was ${p.previous})` : ''}`;
    case 'generation.rejected':
      return `${p.model} gen ${p.gen}: ${p.reason}`;
    case 'session.state':
      return String(p.state);
    default:
      return JSON.stringify(p).slice(0, 160);
  }
}
