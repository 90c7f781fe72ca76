import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../../../helpers/redis.js';
import { startTestGateway, type TestGateway } from '../../../helpers/gateway.js';
import { waitFor } from '../../../helpers/wait.js';
import { freePortBlock } from '../../../helpers/ports.js';
import { prediction } from './harness.js';

let r: TestRedis;
let g: TestGateway;
let dir: string;
before(async () => {
  r = await startTestRedis();
  g = await startTestGateway(r);
  dir = mkdtempSync(join(tmpdir(), 'swarmml-cli-'));
});
after(async () => {
  await g.close();
  await r.stop();
  rmSync(dir, { recursive: true, force: true });
});

const swarmml = (...args: string[]) => runCli(g.url, g.adminToken, ...args);

test('token create | ls | revoke', async () => {
  const made = await swarmml('--json', 'token', 'create', 'ci-bot', '--role', 'operator');
  assert.equal(made.code, 0, made.stderr);
  const t = JSON.parse(made.stdout) as { token: string; id: string; role: string };
  assert.equal(t.role, 'operator');
  const ls = await swarmml('token', 'ls');
  assert.match(ls.stdout, new RegExp(`${t.id}\\s+ci-bot\\s+operator`));
  assert.equal((await swarmml('token', 'revoke', t.id)).code, 0);
  const res = await fetch(`${g.url}/api/v1/whoami`, {
    headers: { authorization: `Bearer ${t.token}` },
  });
  assert.equal(res.status, 401);
});

test('delivery and source apply FILE | ls, with every problem of a bad file listed', async () => {
  const good = join(dir, 'delivery.json');
  writeFileSync(
    good,
    JSON.stringify({
      channels: {
        hook: { type: 'webhook', url: 'http://127.0.0.1:9/in', secret: 'long-enough-secret' },
      },
      formatters: { raw: { type: 'json' } },
      rules: [{ id: 'all', model: '*', channel: 'hook', formatter: 'raw' }],
    }),
  );
  const applied = await swarmml('delivery', 'apply', good);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /version 1/);
  const ls = await swarmml('delivery', 'ls');
  assert.match(ls.stdout, /hook\s+webhook\s+http:\/\/127\.0\.0\.1:9\/in/);
  assert.match(ls.stdout, /all\s+on\s+\*\s+raw\s+hook/);

  const bad = join(dir, 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      channels: { hook: { type: 'mqtt', url: 'mqtt://h', topic: 'a/#' } },
      formatters: { raw: { type: 'csv', columns: ['output.best'] } },
    }),
  );
  const rejected = await swarmml('delivery', 'apply', bad);
  assert.equal(rejected.code, 2);
  assert.match(rejected.stderr, /channels\.hook\.topic/);
  assert.match(rejected.stderr, /formatters\.raw\.columns\.0/);
  assert.match((await swarmml('delivery', 'ls')).stdout, /version 1/);

  const sources = join(dir, 'sources.json');
  writeFileSync(
    sources,
    JSON.stringify({
      sources: [
        {
          id: 'in',
          type: 'http',
          dataset: 'd',
          mapping: { format: 'csv', features: [0], label: 1 },
        },
      ],
    }),
  );
  assert.equal((await swarmml('source', 'apply', sources)).code, 0);
  // Stored at once, running a moment later: `ls` lists the sources that run.
  await waitFor(async () => /in\s+http\s+d\s+push/.test((await swarmml('source', 'ls')).stdout), {
    what: 'the applied source listed as running',
  });
});

test('dlq ls | replay', async () => {
  const ls = await swarmml('dlq', 'ls');
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^0 dead/);
  const none = await swarmml('dlq', 'replay', 'd-nope');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /NOT_FOUND/);
  const all = await swarmml('--json', 'dlq', 'replay', '--all');
  assert.deepEqual(JSON.parse(all.stdout), { replayed: [], missing: [] });
});

test('dlq drop ID | --all: dead deliveries removed without being sent', async () => {
  // A webhook nobody answers, tried once: each prediction goes dead at once.
  const closedPort = await freePortBlock(1);
  const put = await fetch(`${g.url}/api/v1/config/delivery`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      channels: {
        gone: {
          type: 'webhook',
          url: `http://127.0.0.1:${closedPort}/in`,
          timeoutMs: 10_000,
          retry: { attempts: 1, backoffMs: 10 },
        },
      },
      formatters: { raw: { type: 'json' } },
      rules: [{ id: 'to-nowhere', model: 'drop-me', channel: 'gone', formatter: 'raw' }],
    }),
  });
  const body = await put.text();
  assert.equal(put.status, 200, body);
  const { version } = JSON.parse(body) as { version: number };
  await waitFor(() => g.gw.comm.delivery.applied().delivery === version, {
    what: 'delivery configuration applied',
  });
  await g.gw.comm.delivery.publish([0, 1, 2].map((i) => prediction(i, undefined, 'drop-me')));
  // Polled over the API (a CLI process per poll would load the machine for nothing).
  const deadIds = async () => {
    const res = await fetch(`${g.url}/api/v1/deliveries/dead`, {
      headers: { authorization: `Bearer ${g.adminToken}` },
    });
    return ((await res.json()) as { dead: { id: string }[] }).dead.map((x) => x.id);
  };
  const dead = await waitFor(
    async () => {
      const ids = await deadIds();
      return ids.length === 3 ? ids : undefined;
    },
    { timeoutMs: 20_000, what: 'three dead deliveries' },
  );

  const [first, ...rest] = dead;
  assert.match((await swarmml('dlq', 'drop')).stderr, /name ids to drop, or --all/);
  const one = await swarmml('dlq', 'drop', first!, 'd-nope');
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, `dropped 1\nnot found: d-nope\n`);
  assert.deepEqual(await deadIds(), rest);
  const unknown = await swarmml('dlq', 'drop', first!);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /NOT_FOUND|no dead deliveries/);
  const all = await swarmml('--json', 'dlq', 'drop', '--all');
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual((JSON.parse(all.stdout) as { dropped: string[] }).dropped.sort(), rest.sort());
  assert.deepEqual(await deadIds(), []);
});
