/**
 * The Redis ACL users (shared/store/acl.ts) on a real redis-server started as local mode
 * starts it: each service's user can do its own work and is refused (NOPERM) beyond it, and a
 * connection that does not log in can run nothing (NOAUTH).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  DatasetStore,
  EventLog,
  Keys,
  ModelRegistry,
  QUEUES,
  RedisServer,
  SessionStore,
  aclFile,
  freePort,
  redisPassword,
  redisUrlFor,
  type RedisUser,
} from '../../../shared/index.js';
import { tabular } from './helpers.js';

const secret = randomBytes(32).toString('hex');
const prefix = `t-${randomBytes(4).toString('hex')}`;
const keys = new Keys(prefix);
let dir: string;
let server: RedisServer;
const clients: Redis[] = [];

function connect(user?: RedisUser, password?: string): Redis {
  const base = `redis://127.0.0.1:${server.opts.port}`;
  const url = user ? redisUrlFor(base, secret, user) : base;
  const c = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(password !== undefined ? { password } : {}),
  });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'swarmml-acl-'));
  server = new RedisServer({
    dir: join(dir, 'redis'),
    port: await freePort(),
    acl: aclFile(secret, keys),
    login: { user: 'admin', password: redisPassword(secret, 'admin') },
  });
  await server.start();
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One command in Redis's inline protocol on a raw socket: what an attacker with a shell sends. */
function raw(line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(server.opts.port, '127.0.0.1');
    let reply = '';
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.trim());
      }
    });
    socket.on('error', reject);
  });
}

test('a connection that does not log in is refused every command (NOAUTH)', async () => {
  assert.match(await raw('PING'), /^-NOAUTH/);
  assert.match(await raw(`HSET ${keys.tokens()} forged admin`), /^-NOAUTH/);
  assert.match(await raw('AUTH default ""'), /^-(WRONGPASS|ERR)/);
});

test('a wrong password is refused', async () => {
  assert.match(await raw('AUTH gateway nope'), /^-WRONGPASS/);
  assert.match(await raw(`AUTH gateway ${redisPassword(secret, 'gateway')}`), /^\+OK/);
});

test('only the gateway may write the tokens hash: serving may read it, the rest get NOPERM', async () => {
  const forged = JSON.stringify({ id: 'x', name: 'forged', role: 'admin', created: '' });
  // serving checks tokens on its direct port: it reads the hash, and cannot write it
  const serving = connect('serving');
  await assert.rejects(serving.hset(keys.tokens(), 'forged', forged), /NOPERM/);
  await assert.rejects(serving.hdel(keys.tokens(), 'forged'), /NOPERM/);
  assert.equal(await serving.hget(keys.tokens(), 'forged'), null);
  for (const user of [
    'data-intake',
    'event-listener',
    'event-handler',
    'trainer',
    'batch-infer',
  ] as const) {
    const c = connect(user);
    await assert.rejects(c.hset(keys.tokens(), 'forged', forged), /NOPERM/, user);
    await assert.rejects(c.hget(keys.tokens(), 'forged'), /NOPERM/, user);
  }
  const gw = connect('gateway');
  assert.equal(await gw.hset(keys.tokens(), 'h', forged), 1);
  await gw.hdel(keys.tokens(), 'h');
});

test('services cannot administer the server (CONFIG, ACL, FLUSHALL, KEYS) nor leave their prefix', async () => {
  const c = connect('gateway');
  await assert.rejects(c.config('SET', 'appendonly', 'no'), /NOPERM/);
  await assert.rejects(c.call('ACL', 'SETUSER', 'gateway', '~*'), /NOPERM/);
  await assert.rejects(c.flushall(), /NOPERM/);
  await assert.rejects(c.keys('*'), /NOPERM/);
  await assert.rejects(c.set('other-install:tokens', 'x'), /NOPERM/);
  // an install under another prefix on the same server is out of reach too
  await assert.rejects(c.hset(new Keys('swarmml').tokens(), 'a', 'b'), /NOPERM/);
});

test('each service user can do its own work', async () => {
  // data-intake writes a dataset version and archives its event
  const intake = connect('data-intake');
  const datasets = new DatasetStore(intake, keys);
  const w = datasets.beginVersion('acl-data');
  await w.writeShard(tabular(50, 4));
  const v = await w.commit({ kind: 'tabular', format: 'csv', features: 4, labelKind: 'class' });
  await new EventLog(intake, keys).append({ kind: 'dataset.uploaded', payload: { v: v.version } });
  // ...but cannot touch sessions or queue a session
  await assert.rejects(new SessionStore(intake, keys).list({}), /NOPERM/);
  const q = new Queue(QUEUES.sessions, { connection: intake, prefix: keys.bullPrefix() });
  await assert.rejects(q.add('s', {}), /NOPERM/);
  await q.close();

  // the built-in trainer reads it and adds a candidate generation with its lineage
  const trainer = connect('trainer');
  const rows = [];
  for await (const b of new DatasetStore(trainer, keys).readShards('acl-data', v.version))
    rows.push(b.rows);
  assert.deepEqual(rows, [50]);
  const gen = await new ModelRegistry(trainer, keys).addGeneration('acl-model', {
    type: 'classifier',
    weights: Buffer.from('onnx bytes'),
    lineage: { dataset: 'acl-data', version: v.version },
  });
  assert.equal(gen.gen, 1);
  await assert.rejects(new EventLog(trainer, keys).append({ kind: 'x', payload: {} }), /NOPERM/);
  // it reads datasets and may not change one, nor delete its shards
  await assert.rejects(trainer.hset(keys.dataset('acl-data'), 'latest', '9'), /NOPERM/);
  await assert.rejects(trainer.del(keys.datasetShard('acl-data', v.version, 0)), /NOPERM/);
  // data-intake reads generations (a deletion's lineage check) and may not change one
  await assert.rejects(intake.hset(keys.model('acl-model'), 'production', '1'), /NOPERM/);

  // the event handler promotes it; serving reads it
  await new ModelRegistry(connect('event-handler'), keys).promote('acl-model', 1);
  const prod = await new ModelRegistry(connect('serving'), keys).getProduction('acl-model');
  assert.equal(prod?.gen, 1);

  // the listener reads events and keeps its cursor; it may not write tokens or config history
  const listener = connect('event-listener');
  const events = await new EventLog(listener, keys).range({ count: 10 });
  assert.ok(events.some((e) => e.kind === 'dataset.uploaded'));
  await listener.set(keys.listenerCursor(), events[0]!.id);
  await assert.rejects(connect('serving').set(keys.listenerCursor(), '0-0'), /NOPERM/);

  // serving keeps a record of each answer and counts it; the gateway joins ground truth to it
  const servingUser = connect('serving');
  await servingUser.set(keys.prediction('p-1'), '{"gen":1}', 'EX', 60);
  await servingUser.hincrby(keys.modelGenOnline('acl-model', 1), 'requests', 1);
  assert.equal(await connect('gateway').get(keys.prediction('p-1')), '{"gen":1}');
  await assert.rejects(trainer.set(keys.prediction('p-2'), '{}'), /NOPERM/);

  // batch-infer queues chunks for serving; the trainer cannot
  const bq = new Queue(QUEUES.batchInfer, {
    connection: connect('batch-infer'),
    prefix: keys.bullPrefix(),
  });
  await bq.add('chunk', { n: 1 });
  await bq.close();
  // batch inference reads models and may not promote or reject a generation
  await assert.rejects(
    new ModelRegistry(connect('batch-infer'), keys).reject('acl-model', 1, 'no'),
    /NOPERM/,
  );
  const tq = new Queue(QUEUES.batchInfer, { connection: trainer, prefix: keys.bullPrefix() });
  await assert.rejects(tq.add('chunk', { n: 1 }), /NOPERM/);
  await tq.close();

  // data-intake deletes a version: its lineage check reads the generation
  await assert.rejects(
    datasets.deleteVersion('acl-data', v.version),
    /lineage|generation|409|still/i,
  );
});

test('the ACL file, the data dir and the AOF are readable by their owner only', () => {
  const data = join(dir, 'redis');
  assert.equal(statSync(data).mode & 0o777, 0o700);
  assert.equal(statSync(join(data, 'users.acl')).mode & 0o777, 0o600);
  const aof = join(data, 'appendonlydir');
  for (const f of readdirSync(aof)) {
    assert.equal(statSync(join(aof, f)).mode & 0o077, 0, `${f} is private`);
  }
});
