/**
 * Who may touch what in Redis: one ACL user per service, each limited to the key patterns,
 * channels and queues it needs (docs/security.md has the table). Local mode writes these
 * rules into redis-server's ACL file at every start; scripts/redis-acl.mjs writes the same
 * file for the swarm stack. Patterns are built with Keys, so a key added there is granted here
 * or refused with NOPERM by every service that was not given it.
 */
import { createHash, createHmac } from 'node:crypto';
import { QUEUES } from '../runtime/queues.js';
import type { Keys } from './keys.js';

/** Redis users of the platform: the services, the two built-in session workers, `admin`. */
export const REDIS_USERS = [
  'admin',
  'gateway',
  'event-handler',
  'event-listener',
  'data-intake',
  'serving',
  'trainer',
  'batch-infer',
] as const;
export type RedisUser = (typeof REDIS_USERS)[number];

type Queue = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * What one user may touch: groups of keys (below) to read and write, groups to read only,
 * BullMQ queues and pub/sub channels. Read-only keys must be read with plain commands: Redis
 * requires write access to every key a script (EVAL) declares.
 */
interface Grant {
  keys: KeyGroup[];
  read?: KeyGroup[];
  queues: Queue[];
  channels: ChannelGroup[];
}

type KeyGroup =
  | 'models'
  | 'datasets'
  | 'lineage'
  | 'sessions'
  | 'events'
  | 'decisions'
  | 'config'
  | 'tokens'
  | 'serving'
  | 'batch'
  | 'listener'
  | 'predictions';
type ChannelGroup = 'models' | 'serving' | 'config' | 'token-revocations';

/** The key patterns of each group, built by Keys ('*' in a name matches every name). */
function keyGroup(k: Keys, g: KeyGroup): string[] {
  switch (g) {
    case 'models':
      return [k.models(), k.modelsByType('*'), `${k.model('*')}*`];
    case 'datasets':
      return [k.datasets(), `${k.dataset('*')}*`];
    // the generations trained on each dataset version, written with each new generation
    case 'lineage':
      return [k.datasetVersionModels('*', 0).replace(':v0:', ':v*:')];
    case 'sessions':
      // session('*') also covers each session's `:seq`
      return [k.sessions(), k.sessionsByState('*'), k.session('*')];
    case 'events':
      return [k.events()];
    case 'decisions':
      return [k.decisionDone('*', '*')];
    case 'config':
      return [k.config('*')];
    case 'tokens':
      return [k.tokens()];
    case 'serving':
      return [k.servingAssignment(), k.servingHistory('*')];
    case 'batch':
      // chunk numbers are numbers: the last part is replaced by the wildcard
      return [k.batchInferChunk('*', 0).replace(/:0$/, ':*')];
    case 'listener':
      return [k.listenerCursor(), k.listenerSamplesTrigger('*', '*')];
    // what each answer was, kept for joining the ground truth posted later
    case 'predictions':
      return [k.prediction('*')];
  }
}

function channelGroup(k: Keys, g: ChannelGroup): string[] {
  switch (g) {
    case 'models':
      return [k.modelEventsChannel()];
    case 'serving':
      return [k.servingChannel()];
    // live configuration documents announce a new version on the document's own key name
    case 'config':
      return [k.config('*')];
    case 'token-revocations':
      return [k.tokenRevocationsChannel()];
  }
}

/**
 * Each service's grant. Model scripts PUBLISH status changes and ACLs check channels inside
 * scripts too, so whoever changes a model's generations also gets the models channel.
 */
const GRANTS: Record<Exclude<RedisUser, 'admin'>, Grant> = {
  // The API's front door: every resource an API call can reach, and the only writer of tokens.
  gateway: {
    keys: [
      'models',
      'datasets',
      'sessions',
      'events',
      'config',
      'tokens',
      'serving',
      'predictions',
    ],
    queues: [QUEUES.sessions, QUEUES.deliveries, QUEUES.deliveriesDead],
    channels: ['models', 'serving', 'config', 'token-revocations'],
  },
  // Runs sessions (their records, the worker events it archives) and carries out decisions
  // (promote/reject generations, queue retraining).
  'event-handler': {
    keys: ['models', 'sessions', 'events', 'decisions'],
    queues: [QUEUES.sessions],
    channels: ['models'],
  },
  // Reads the event archive and decides; queues retraining and candidate evaluations; runs
  // rollouts, whose state writes announce themselves to serving.
  'event-listener': {
    keys: ['models', 'datasets', 'sessions', 'events', 'config', 'listener'],
    queues: [QUEUES.sessions, QUEUES.retrain, QUEUES.evaluations],
    channels: ['models', 'config', 'serving'],
  },
  // Writes dataset versions (deleting one checks its lineage: do those generations exist?).
  'data-intake': {
    keys: ['datasets', 'events'],
    read: ['models'],
    queues: [],
    channels: [],
  },
  // Loads generations (writes their optimised graphs), evaluates candidates on held-out rows,
  // scores batches, counts what each generation answered and keeps prediction records; checks
  // API tokens (read only) on its direct port.
  serving: {
    keys: ['models', 'events', 'serving', 'batch', 'predictions'],
    read: ['datasets', 'tokens'],
    queues: [QUEUES.batchInfer, QUEUES.evaluations],
    channels: ['models', 'serving'],
  },
  // The built-in trainer: reads its dataset, adds its candidate generation (with its lineage).
  trainer: {
    keys: ['models', 'lineage'],
    read: ['datasets'],
    queues: [],
    channels: ['models'],
  },
  // The built-in batch inference: reads a dataset and a model, queues chunks for serving,
  // collects their outputs and writes the predictions as a new dataset version.
  'batch-infer': {
    keys: ['datasets', 'batch'],
    read: ['models'],
    queues: [QUEUES.batchInfer],
    channels: [],
  },
};

/**
 * Commands every service may run: data commands and scripts, not administration (CONFIG,
 * ACL, DEBUG, SHUTDOWN, MONITOR, FLUSHALL, KEYS, ...). INFO is the one "dangerous" command
 * the clients need: ioredis's ready check and BullMQ's version check read it.
 */
const SERVICE_COMMANDS = ['-@all', '+@all', '-@admin', '-@dangerous', '+info'];

/** The key patterns, channels and commands of one service user, as ACL SETUSER rules. */
export function aclRules(user: Exclude<RedisUser, 'admin'>, k: Keys): string[] {
  const g = GRANTS[user];
  const keys = [
    ...g.keys.flatMap((group) => keyGroup(k, group)),
    ...g.queues.map((q) => `${k.bullPrefix()}:${q}:*`),
  ];
  const read = (g.read ?? []).flatMap((group) => keyGroup(k, group));
  const channels = g.channels.flatMap((group) => channelGroup(k, group));
  return [
    'resetkeys',
    ...keys.map((p) => `~${p}`),
    ...read.map((p) => `%R~${p}`),
    'resetchannels',
    ...channels.map((c) => `&${c}`),
    ...SERVICE_COMMANDS,
  ];
}

/**
 * One user's password, derived from the installation's one Redis secret: each service can be
 * handed its own password while only one secret is kept (and rotated) per installation.
 */
export function redisPassword(secret: string, user: RedisUser): string {
  return createHmac('sha256', secret).update(`redis-user:${user}`).digest('base64url');
}

/**
 * The ACL file redis-server loads (`--aclfile`): the `default` user off (a connection that does
 * not authenticate can run nothing: NOAUTH; see below for why it keeps its rights), `admin` with every right (operators, local
 * mode's own probe), then one user per service. Passwords are stored as SHA-256 hashes.
 */
export function aclFile(secret: string, k: Keys): string {
  const sha = (user: RedisUser) =>
    '#' + createHash('sha256').update(redisPassword(secret, user)).digest('hex');
  const lines = [
    // `off` with no password: nobody can log in as `default`. Its rights stay full because
    // redis-server 7.0 replays the AOF's MULTI/EXEC blocks as `default` and drops every one
    // it may not run (NOPERM): a restart would lose each transaction's writes.
    'user default off resetkeys resetchannels ~* &* +@all',
    `user admin on ${sha('admin')} ~* &* +@all`,
    ...REDIS_USERS.filter((u) => u !== 'admin').map(
      (u) => `user ${u} on ${sha(u)} ${aclRules(u, k).join(' ')}`,
    ),
  ];
  return lines.join('\n') + '\n';
}

/** `url` with `user` and its password as credentials (redis://user:pass@host:port). */
export function redisUrlFor(url: string, secret: string, user: RedisUser): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(redisPassword(secret, user));
  return u.toString();
}
