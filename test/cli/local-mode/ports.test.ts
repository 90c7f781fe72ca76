/**
 * A service whose port is taken ends with exit code 1 and a line naming the port, instead of
 * a stack trace or (the event listener, before) running on without it: the supervisor, Docker
 * and the person reading the log all see why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serviceCommand } from '../../../shared/index.js';
import { startTestRedis } from '../../helpers/redis.js';
import { localSettings } from '../../../cli/local/settings.js';

const SERVICES = ['gateway', 'serving', 'data-intake', 'event-handler', 'event-listener'];

test(
  'every service given a port in use exits 1 saying which port',
  { timeout: 240_000 },
  async () => {
    const r = await startTestRedis();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    try {
      const results = await Promise.all(
        SERVICES.map(async (name) => {
          const { command, args } = serviceCommand(name);
          const child = spawn(command, args, {
            env: {
              PATH: process.env.PATH,
              REDIS_URL: r.url,
              SWARMML_PREFIX: r.prefix(),
              PORT: String(taken),
              SWARMML_GRPC_PORT: String(await freePort()),
              INTERNAL_TOKEN: 'internal-token-0123456789',
              ADMIN_TOKEN: 'admin-token-0123456789abcdef',
              WARM_TRAINER: 'false',
              LOG_LEVEL: 'silent',
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
          const [code] = (await once(child, 'exit')) as [number | null];
          clearTimeout(timer);
          return { name, code, stderr };
        }),
      );
      for (const { name, code, stderr } of results) {
        assert.equal(code, 1, `${name} exit code:\n${stderr}`);
        assert.match(
          stderr,
          new RegExp(
            `^${name}: cannot listen on port ${taken}: port ${taken} is already in use`,
            'm',
          ),
          name,
        );
      }
    } finally {
      squatter.close();
      await r.stop();
    }
  },
);

test("local mode's ports all follow SWARMML_PORT, the listener's health port included", () => {
  const s = localSettings({ SWARMML_PORT: '31000', SWARMML_HOME: '/tmp/x' });
  const ports = [
    s.port,
    s.servingPort,
    s.intakePort,
    s.eventHandlerPort,
    s.grpcPort,
    s.listenerPort,
  ];
  assert.deepEqual(ports, [31000, 31001, 31002, 31003, 31004, 31005]);
  assert.equal(s.redisPort, 31009);
});

test("local mode's home defaults to the checkout's .swarmml from any directory (a linked swarmml)", () => {
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    assert.equal(localSettings({}).home, join(root, '.swarmml'));
    assert.equal(localSettings({ SWARMML_HOME: 'h' }).home, join(tmpdir(), 'h'));
  } finally {
    process.chdir(cwd);
  }
});

test('SWARMML_START_TIMEOUT_S: 60 s unless set; anything but a positive number is refused by name', () => {
  assert.equal(localSettings({ SWARMML_HOME: '/tmp/x' }).startTimeoutS, 60);
  assert.equal(localSettings({ SWARMML_START_TIMEOUT_S: '90' }).startTimeoutS, 90);
  for (const bad of ['soon', '-5', '0']) {
    assert.throws(
      () => localSettings({ SWARMML_START_TIMEOUT_S: bad }),
      /SWARMML_START_TIMEOUT_S must be a number of seconds over 0, got/,
      bad,
    );
  }
});
