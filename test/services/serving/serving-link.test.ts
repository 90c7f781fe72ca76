/**
 * The serving link: the gateway's inference to a replica as frames on one upgraded
 * connection. The frame reader; a real gateway in front of a real replica answering over the
 * link as it would over HTTP (answers, errors, headers); what a replica refuses (another
 * upgrade, a bad head, the direct port); and what the gateway's end does when a replica hangs
 * or drops the connection (retryable errors, as over HTTP).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  encodeFrame,
  FrameReader,
  FrameTooLarge,
  Keys,
  TokenLookup,
  createLogger,
  SERVING_LINK_PROTOCOL,
  type LinkRequestHead,
} from '../../../shared/index.js';
import { createDirectServer } from '../../../services/serving/direct-server.js';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { LINK_TIMEOUT, ServingLink } from '../../../services/gateway/serving/serving-link.js';
import { unreachable } from '../../../services/gateway/serving/replica-requests.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { inferenceClient } from '../../helpers/grpc-client.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { startServing, v2Body, type Serving } from './harness.js';

const log = createLogger('link-test', 'silent');

describe('frames', () => {
  const frames = [
    { id: 1, head: { a: 1 }, body: Buffer.from('first body') },
    { id: 7, head: { b: 'two' }, body: Buffer.alloc(0) },
    { id: 0xfffffffe, head: { c: [3] }, body: Buffer.alloc(70_000, 9) },
  ];
  const bytes = Buffer.concat(frames.flatMap((f) => encodeFrame(f.id, f.head, f.body)));
  const expected = frames.map((f) => ({ id: f.id, head: JSON.stringify(f.head), body: f.body }));
  const plain = (got: { id: number; head: string; body: Buffer }[]) =>
    got.map((f) => ({ id: f.id, head: f.head, body: Buffer.from(f.body) }));

  test('frames cut anywhere, or several in one chunk, come out whole and in order', () => {
    assert.deepEqual(plain(new FrameReader(1 << 20).push(bytes)), expected);
    for (const step of [1, 5, 11, 4096]) {
      const reader = new FrameReader(1 << 20);
      const got = [];
      for (let at = 0; at < bytes.length; at += step) {
        got.push(...reader.push(bytes.subarray(at, at + step)));
      }
      assert.deepEqual(plain(got), expected, `chunks of ${step} bytes`);
    }
  });

  test('a frame over the limit is refused from its first bytes', () => {
    const reader = new FrameReader(1000);
    const big = encodeFrame(1, {}, Buffer.alloc(2000));
    assert.throws(() => reader.push(big[0]!), FrameTooLarge);
  });
});

describe('a gateway and a replica over the link', () => {
  let r: TestRedis;
  let s: Serving;
  let g: TestGateway;
  let headers: Record<string, string>;
  const infer = (url: string, body: unknown, h: Record<string, string> = {}) =>
    fetch(`${url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const row = (i: number) => v2Body('x', [1, 4], [i / 10, 0.2, -i / 7, 0.4]);

  before(async () => {
    r = await startTestRedis();
    s = await startServing(
      new InMemoryModelSource().put('mlp', 1, mlpModel([4, 8, 3]), { production: true }),
    );
    g = await startTestGateway(r, { env: { SERVING_UPSTREAM: s.url } });
    headers = { authorization: `Bearer ${g.adminToken}` };
    // The first request goes by HTTP and opens the link behind it. The replica counts the link
    // before the gateway has read its 101, so wait for a request that no longer comes by HTTP.
    await waitFor(
      async () => {
        let byHttp = 0;
        const count = () => byHttp++;
        s.app.server.on('request', count);
        try {
          assert.equal((await infer(g.url, row(0), headers)).status, 200);
        } finally {
          s.app.server.off('request', count);
        }
        return byHttp === 0;
      },
      { what: 'a request answered over the link' },
    );
    assert.equal(s.app.links.open, 1, 'one link to the replica');
  });
  after(async () => {
    await g?.close();
    await s?.stop();
    await r?.stop();
  });

  test('64 requests at once are answered over the link as HTTP answers them, none by HTTP', async () => {
    let byHttp = 0;
    const count = () => byHttp++;
    s.app.server.on('request', count);
    try {
      const rows = Array.from({ length: 64 }, (_, i) => row(i));
      const viaLink = await Promise.all(rows.map((b) => infer(g.url, b, headers)));
      assert.equal(byHttp, 0, 'no request reached the replica by HTTP');
      s.app.server.off('request', count);
      for (const [i, res] of viaLink.entries()) {
        assert.equal(res.status, 200);
        assert.ok(res.headers.get('x-served-by'), 'the replica names itself');
        assert.equal(res.headers.get('x-swarmml-generation'), '1');
        const direct = (await (await infer(s.url, rows[i])).json()) as { outputs: unknown };
        const linked = (await res.json()) as { outputs: unknown; id: string };
        assert.deepEqual(linked.outputs, direct.outputs, `row ${i}`);
        assert.equal(linked.id, res.headers.get('x-prediction-id'));
      }
    } finally {
      s.app.server.off('request', count);
    }
  });

  test("the gRPC front's inference goes over the link too", async () => {
    const rpc = inferenceClient(`127.0.0.1:${await g.gw.grpc.listen(0, '127.0.0.1')}`);
    let byHttp = 0;
    const count = () => byHttp++;
    s.app.server.on('request', count);
    try {
      const x = [0.3, 0.2, -0.1, 0.4];
      const answer = await rpc.call(
        'ModelInfer',
        {
          model_name: 'mlp',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }],
        },
        g.adminToken,
      );
      assert.equal(byHttp, 0, 'no request reached the replica by HTTP');
      s.app.server.off('request', count);
      const direct = (await (await infer(s.url, v2Body('x', [1, 4], x))).json()) as {
        outputs: { data: number[] }[];
      };
      assert.deepEqual(answer.outputs[0].contents.fp32_contents, direct.outputs[0]!.data);
    } finally {
      s.app.server.off('request', count);
      rpc.close();
    }
  });

  test('errors come back as the replica says them over HTTP', async () => {
    for (const [body, status, says] of [
      ['{"inputs": [', 400, /not valid JSON/],
      [
        { inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] },
        400,
        /shape|x/,
      ],
    ] as const) {
      const linked = await infer(g.url, body, headers);
      const direct = await infer(s.url, body);
      assert.equal(linked.status, status);
      assert.equal(direct.status, status);
      const linkedBody = (await linked.json()) as { error: string };
      assert.match(linkedBody.error, says);
      assert.deepEqual(linkedBody, await direct.json());
    }
    const missing = await fetch(`${g.url}/v2/models/nope/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(row(1)),
    });
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /nope/);
  });

  test('a head the replica cannot read is answered 400, and the link stays up', async () => {
    const link = await ServingLink.open(new URL(s.url), log, () => {});
    try {
      const bad = await link.exchange(
        { method: 7 } as unknown as LinkRequestHead,
        Buffer.alloc(0),
        5_000,
      );
      assert.equal(bad.head.status, 400);
      assert.match(JSON.parse(bad.body.toString()).error, /bad link request head/);
      const good = await link.exchange(
        { method: 'GET', path: '/v2/models/mlp/ready', headers: {} },
        Buffer.alloc(0),
        5_000,
      );
      assert.equal(good.head.status, 200);
      assert.deepEqual(JSON.parse(good.body.toString()), { name: 'mlp', ready: true });
    } finally {
      link.close();
    }
  });

  test('the replica refuses another upgrade, and its direct port gives no link', async () => {
    const { port } = new URL(s.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/internal/link',
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('upgrade', () => reject(new Error('upgraded')));
      req.once('error', reject);
      req.end();
    });
    assert.equal(status, 400);

    // The direct port checks a client's token on every request; a link would carry none.
    const direct = createDirectServer(
      s.app,
      new TokenLookup(r.client(), new Keys(r.prefix())),
      log,
    );
    await new Promise<void>((resolve) => direct.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`http://127.0.0.1:${(direct.address() as AddressInfo).port}`);
      await assert.rejects(
        ServingLink.open(url, log, () => {}),
        { refused: true },
      );
    } finally {
      direct.closeAllConnections();
      await new Promise((resolve) => direct.close(resolve));
    }
  });
});

describe('a replica that hangs or drops the link', () => {
  // A replica that takes the upgrade and never answers: a hung process, which cannot be
  // made to happen on cue in a real replica without stopping the test's own loop.
  let hung: http.Server;
  const sockets: Duplex[] = [];
  before(async () => {
    hung = http.createServer();
    hung.on('upgrade', (_req, socket: Duplex) => {
      sockets.push(socket);
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${SERVING_LINK_PROTOCOL}\r\nconnection: Upgrade\r\n\r\n`,
      );
      socket.resume();
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => hung.close(resolve));
  });

  test('no answer in time, then the link dropped: both retryable elsewhere', async () => {
    const url = new URL(`http://127.0.0.1:${(hung.address() as AddressInfo).port}`);
    let closed = false;
    const link = await ServingLink.open(url, log, () => (closed = true));
    const head = { method: 'GET', path: '/v2/health/ready', headers: {} };
    const late = await link.exchange(head, Buffer.alloc(0), 100).catch((e: unknown) => e);
    assert.equal((late as NodeJS.ErrnoException).code, LINK_TIMEOUT);
    assert.ok(unreachable(late), 'a timeout goes to another replica');

    const pending = link.exchange(head, Buffer.alloc(0), 0).catch((e: unknown) => e);
    await waitFor(() => sockets.length === 1, { what: 'the replica holding the link' });
    sockets[0]!.destroy();
    const dropped = await pending;
    assert.equal((dropped as NodeJS.ErrnoException).code, 'ECONNRESET');
    assert.ok(unreachable(dropped), 'a dropped link goes to another replica');
    await waitFor(() => closed, { what: 'the link reported closed' });
    assert.equal(link.isOpen, false);
    await assert.rejects(link.exchange(head, Buffer.alloc(0), 0), { code: 'ECONNRESET' });
  });
});
