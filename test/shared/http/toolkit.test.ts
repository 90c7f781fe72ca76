import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { z } from 'zod';
import {
  BadGateway,
  createProbes,
  NotFound,
  readBody,
  sendError,
  sendJson,
  toErrorReply,
  toWsError,
  TooManyRequests,
} from '../../../shared/index.js';

/** A pino logger whose lines land in `lines`. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

async function listen(handler: http.RequestListener): Promise<{ url: URL; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}`), server };
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

describe('readBody under a byte limit', () => {
  const LIMIT = 2_000;
  const { log } = memoryLogger();
  let server: http.Server;
  let url: URL;
  before(async () => {
    ({ server, url } = await listen((req, res) => {
      readBody(req, LIMIT).then(
        (body) => sendJson(res, 200, { bytes: body.length }),
        (err: unknown) => sendError(req, res, err, log),
      );
    }));
  });
  after(() => close(server));

  test('a body within the limit is read whole', async () => {
    const res = await fetch(url, { method: 'POST', body: 'x'.repeat(LIMIT) });
    assert.deepEqual(await res.json(), { bytes: LIMIT });
  });

  test('a declared body over the limit is a 413 before any of it is sent', async () => {
    // Only the headers go out: the answer must come without the body ever being read.
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: { 'content-length': String(LIMIT * 10) },
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.flushHeaders();
    });
    const chunks: Buffer[] = [];
    for await (const c of answer) chunks.push(c as Buffer);
    assert.equal(answer.statusCode, 413);
    assert.equal(answer.headers.connection, 'close');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: string };
    assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
  });

  test('a chunked body is cut at the limit, and the client still reads the 413', async () => {
    const chunk = Buffer.alloc(1_000, 7);
    const res = await fetch(url, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 64; i++) c.enqueue(chunk);
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    const body = (await res.json()) as { error: string; details: { limitBytes: number } };
    assert.equal(body.error, 'PAYLOAD_TOO_LARGE');
    assert.equal(body.details.limitBytes, LIMIT);
  });
});

describe('toErrorReply: one mapper, two body shapes', () => {
  test('an AppError keeps its status and code; the protocol shape puts the message in error', () => {
    const { log } = memoryLogger();
    const err = new NotFound('model "m" is not served', { known: ['a'] });
    assert.deepEqual(toErrorReply(err, log), {
      status: 404,
      headers: {},
      body: { error: 'NOT_FOUND', message: 'model "m" is not served', details: { known: ['a'] } },
    });
    assert.deepEqual(toErrorReply(err, log, 'protocol').body, {
      error: 'model "m" is not served',
      code: 'NOT_FOUND',
      details: { known: ['a'] },
    });
    assert.equal(toErrorReply(new BadGateway('replica reset'), log, 'protocol').status, 502);
    assert.deepEqual(toErrorReply(new TooManyRequests('slow down', 7), log).headers, {
      'retry-after': '7',
    });
  });

  test('a ZodError is a 400 with each issue path and message', () => {
    const { log } = memoryLogger();
    const parsed = z
      .object({ role: z.enum(['admin', 'viewer']), n: z.number() })
      .safeParse({ role: 'x', n: 'y' });
    assert.equal(parsed.success, false);
    const r = toErrorReply(parsed.error, log);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'BAD_INPUT');
    assert.deepEqual(
      (r.body.issues as { path: string }[]).map((i) => i.path),
      ['role', 'n'],
    );
    assert.match(r.body.message as string, /^role: .*\(and 1 more\)$/);
    assert.match(
      toErrorReply(parsed.error, log, 'protocol').body.error as string,
      /^bad request: role/,
    );
    assert.deepEqual(toWsError(parsed.error, log).details, r.body.issues);
  });

  test('anything else is a 500 whose errorId is in the log, and nothing of the error leaks', () => {
    const { log, lines } = memoryLogger();
    const r = toErrorReply(new TypeError('secret internals at /srv/x.ts:12'), log);
    assert.equal(r.status, 500);
    assert.equal(r.body.error, 'INTERNAL');
    assert.ok(!JSON.stringify(r.body).includes('secret'));
    const id = r.body.errorId as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.errorId, id);
    assert.match(JSON.stringify(lines[0]!.err), /secret internals/);
    assert.equal(toErrorReply(new Error('x'), log, 'protocol').body.code, 'INTERNAL');
    assert.equal(toWsError(new Error('x'), log).code, 'INTERNAL');
  });

  test('a message that quotes a large input comes back as a short excerpt', () => {
    const { log } = memoryLogger();
    const huge = 'a'.repeat(100_000);
    const r = toErrorReply(new NotFound(`no route GET /${huge}`), log);
    assert.ok(JSON.stringify(r.body).length < 500, `body of ${JSON.stringify(r.body).length}`);
    const issues = z.object({ [huge]: z.string() }).safeParse({});
    assert.ok(JSON.stringify(toErrorReply(issues.error, log).body).length < 1_000);
  });
});

describe('createProbes', () => {
  let server: http.Server;
  let url: URL;
  let redisUp = true;
  before(async () => {
    const probes = createProbes({
      ready: [
        { name: 'redis', check: () => redisUp },
        { name: 'models', check: () => Promise.resolve('any value but false passes') },
        { name: 'stuck', check: () => (redisUp ? true : new Promise(() => {})) },
      ],
      timeoutMs: 300,
    });
    ({ server, url } = await listen((req, res) => {
      if (!probes(req, res))
        sendError(req, res, new NotFound('no route'), pino({ enabled: false }));
    }));
  });
  after(() => close(server));

  test('liveness needs nothing; readiness answers 200 while every check passes', async () => {
    redisUp = true;
    const live = await fetch(new URL('/healthz', url));
    assert.deepEqual([live.status, await live.json()], [200, { status: 'ok' }]);
    const ready = await fetch(new URL('/readyz?verbose=1', url));
    assert.deepEqual(
      [ready.status, await ready.json()],
      [200, { status: 'ready', checks: { redis: 'ok', models: 'ok', stuck: 'ok' } }],
    );
    assert.equal((await fetch(new URL('/readyz', url), { method: 'POST' })).status, 404);
  });

  test('a failing or hanging dependency is a 503 naming it, within the timeout', async () => {
    redisUp = false;
    const t0 = Date.now();
    const res = await fetch(new URL('/readyz', url));
    const elapsed = Date.now() - t0;
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: 'not ready',
      failed: [
        { name: 'redis', reason: 'not ready' },
        { name: 'stuck', reason: 'no answer within 300 ms' },
      ],
      checks: { redis: 'not ready', models: 'ok', stuck: 'no answer within 300 ms' },
    });
    assert.ok(elapsed < 1_000, `answered after ${elapsed} ms`);
    assert.equal((await fetch(new URL('/healthz', url))).status, 200);
  });
});
