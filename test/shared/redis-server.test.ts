import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Keys, RedisServer, aclFile, freePort, redisPassword } from '../../shared/index.js';
import { startTestRedis } from '../helpers/redis.js';

test('a real redis-server starts with AOF on and stops cleanly', async () => {
  const r = await startTestRedis();
  try {
    const c = r.client();
    assert.equal(await c.ping(), 'PONG');
    const cfg = await c.config('GET', 'appendonly');
    assert.deepEqual(cfg, ['appendonly', 'yes']);
  } finally {
    await r.stop();
  }
});

test('killed with SIGKILL and started again: same port, every acknowledged write and transaction back, ACL users in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-redis-restart-'));
  const secret = randomBytes(32).toString('hex');
  const server = new RedisServer({
    dir,
    port: await freePort(),
    acl: aclFile(secret, new Keys('t')),
    login: { user: 'admin', password: redisPassword(secret, 'admin') },
  });
  const exits: (string | null)[] = [];
  server.onExit((_code, signal) => exits.push(signal));
  await server.start();
  const c = new Redis(server.url, { maxRetriesPerRequest: null });
  c.on('error', () => {});
  try {
    await c.set('plain', '1');
    // Data-intake commits a dataset version, and the registry a generation, in MULTI/EXEC.
    await c.multi().set('tx:a', 'a').hset('tx:h', 'f', 'v').exec();
    const pid = server.pid;
    await server.kill9();
    assert.deepEqual(exits, ['SIGKILL']);
    assert.equal(server.running, false);
    await server.start();
    assert.notEqual(server.pid, pid);
    assert.equal(await c.get('plain'), '1');
    assert.equal(await c.get('tx:a'), 'a', 'a transaction replayed from the AOF');
    assert.equal(await c.hget('tx:h', 'f'), 'v');
    // Still closed to a connection that does not log in.
    const sock = createConnection(server.opts.port, '127.0.0.1');
    sock.write('GET plain\r\n');
    const [reply] = (await once(sock, 'data')) as [Buffer];
    sock.destroy();
    assert.match(reply.toString(), /^-NOAUTH/);
  } finally {
    c.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
