/**
 * Local mode as the attack sees it: its Redis refuses a connection that does not log in, a
 * service's user cannot forge a token, and SWARMML_HOME's secrets and data are its owner's
 * alone. Plus the Redis secret's life: made on first start, kept after, tightened if loosened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliCommand, freePort, redisPassword } from '../../../shared/index.js';
import { ensureRedisSecret, redisSecretFile } from '../../../cli/local/secrets.js';
import { freePortBlock } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { alive, descendants } from '../../helpers/processes.js';

/** Inline-protocol lines on a raw socket; resolves with the replies once `count` arrived. */
function raw(port: number, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    let buf = '';
    socket.on('connect', () => socket.write(lines.map((l) => `${l}\r\n`).join('')));
    socket.on('data', (d) => {
      buf += d.toString();
      const replies = buf.split('\r\n').filter(Boolean);
      if (replies.length >= lines.length) {
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', reject);
  });
}

const mode = (p: string) => statSync(p).mode & 0o777;

interface LocalMode {
  home: string;
  url: string;
  token: string;
  redisPort: number;
  output(): string;
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** `swarmml up --no-demo` in a temp SWARMML_HOME on free ports, as a user runs it. */
async function startLocalMode(): Promise<LocalMode> {
  const home = mkdtempSync(join(tmpdir(), 'swarmml-home-'));
  // the gateway, serving, intake, handler, the gateway's gRPC port, the listener's health,
  // serving's direct port
  const port = await freePortBlock(7);
  const redisPort = await freePort();
  const { command, args } = cliCommand();
  const child = spawn(command, [...args, 'up', '--no-demo'], {
    env: {
      ...process.env,
      SWARMML_HOME: home,
      SWARMML_PORT: String(port),
      SWARMML_REDIS_PORT: String(redisPort),
      LOG_LEVEL: 'warn',
      NODE_TEST_CONTEXT: undefined,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const stop = async () => {
    const kids = descendants(child.pid!);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await waitFor(() => kids.every((p) => !alive(p)), { timeoutMs: 15_000, what: 'no orphans' });
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitFor(() => out.includes('running; press Ctrl-C') || child.exitCode !== null, {
      timeoutMs: 90_000,
      what: `local mode up:\n${out}`,
    });
    if (child.exitCode !== null) throw new Error(`swarmml up exited ${child.exitCode}:\n${out}`);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const token = readFileSync(join(home, 'admin.token'), 'utf8').trim();
  return {
    home,
    url,
    token,
    redisPort,
    output: () => out,
    api: (path, init = {}) =>
      fetch(url + path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      }),
    stop,
  };
}

describe('local mode with a running Redis', () => {
  let lm: LocalMode;
  let redisPort: number;
  before(async () => {
    lm = await startLocalMode();
    redisPort = lm.redisPort;
  });
  after(async () => {
    await lm?.stop();
  });

  test('a connection that does not log in is refused (NOAUTH), a forged token is NOPERM', async () => {
    const [ping, forge] = await raw(redisPort, ['PING', 'HSET swarmml:tokens forged admin']);
    assert.match(ping!, /^-NOAUTH/);
    assert.match(forge!, /^-NOAUTH/);
    const secret = readFileSync(join(lm.home, 'redis.secret'), 'utf8').trim();
    const [login, hset] = await raw(redisPort, [
      `AUTH data-intake ${redisPassword(secret, 'data-intake')}`,
      'HSET swarmml:tokens forged admin',
    ]);
    assert.equal(login, '+OK');
    assert.match(hset!, /^-NOPERM/);
    // the services still do their work through their own users
    const res = await lm.api('/api/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', role: 'viewer' }),
    });
    assert.equal(res.status, 201);
  });

  test('the secrets, the AOF and their directories are readable by their owner only', () => {
    assert.equal(mode(lm.home), 0o700);
    assert.equal(mode(join(lm.home, 'admin.token')), 0o600);
    assert.equal(mode(join(lm.home, 'redis.secret')), 0o600);
    assert.equal(mode(join(lm.home, 'redis')), 0o700);
    assert.equal(mode(join(lm.home, 'redis', 'users.acl')), 0o600);
    const aof = join(lm.home, 'redis', 'appendonlydir');
    assert.equal(mode(aof) & 0o077, 0);
    for (const f of readdirSync(aof)) assert.equal(mode(join(aof, f)) & 0o077, 0, f);
    // no process was handed the Redis secret or the admin's Redis password
    const secret = readFileSync(join(lm.home, 'redis.secret'), 'utf8').trim();
    assert.ok(!lm.output().includes(secret), 'the secret is never printed');
    assert.ok(!lm.output().includes(redisPassword(secret, 'admin')));
  });
});

describe('the Redis secret', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'swarmml-secret-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test('is made on first start (0600), kept afterwards, and tightened when loosened', () => {
    chmodSync(home, 0o755);
    const first = ensureRedisSecret(home);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(mode(redisSecretFile(home)), 0o600);
    assert.equal(mode(home), 0o700);
    chmodSync(redisSecretFile(home), 0o644);
    writeFileSync(join(home, 'admin.token'), 'sma_x\n', { mode: 0o644 });
    assert.equal(ensureRedisSecret(home), first, 'reused');
    assert.equal(mode(redisSecretFile(home)), 0o600);
    assert.equal(mode(join(home, 'admin.token')), 0o600);
  });
});
