/**
 * What a new user hit: a 130 MB inference body through the gateway got "connection reset by
 * peer" right after `100 Continue`. Over the limit, the gateway answers a readable 413 in
 * the protocols' JSON shape (before asking for the body when the client expects 100
 * Continue), and a request sent to the other protocol's route gets a short 400 naming the
 * right one instead of an error that quotes the request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { mlpModel } from '../../helpers/onnx-models.js';
import type { TestGateway } from '../../helpers/gateway.js';
import {
  startGatewayOverReplica,
  type GatewayOverReplica,
} from '../../helpers/gateway-over-replica.js';

const MB = 1024 * 1024;
const BIG = 130 * MB;

let env: GatewayOverReplica;
let g: TestGateway;
before(async () => {
  env = await startGatewayOverReplica(
    new InMemoryModelSource().put('mlp', 1, mlpModel([4, 8, 3]), { production: true }),
  );
  ({ g } = env);
});
after(() => env?.close());

interface Outcome {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** an error on the connection (a reset, EPIPE), if any */
  error: string | undefined;
  /** bytes of the body written */
  sent: number;
}

/**
 * POSTs `total` bytes of filler to `path` over a raw socket, as a client that reads its
 * answer only once its whole body is out: from one reused 1 MiB buffer (never held whole),
 * declared or chunked. Resolves once the server closed the connection.
 */
function postRaw(path: string, total: number, opts: { chunked?: boolean } = {}): Promise<Outcome> {
  const piece = Buffer.alloc(MB, 0x20);
  const { hostname, port } = new URL(g.url);
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: {}, body: '', error: undefined, sent: 0 };
    const received: Buffer[] = [];
    const socket = net.connect(Number(port), hostname);
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (out.error ??= e.code ?? e.message));
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      out.status = Number(statusLine.split(' ')[1]);
      for (const l of lines) {
        const at = l.indexOf(':');
        out.headers[l.slice(0, at).toLowerCase()] = l.slice(at + 1).trim();
      }
      out.body = rest.join('\r\n\r\n');
      resolve(out);
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${g.adminToken}\r\n` +
        'content-type: application/json\r\nconnection: close\r\n' +
        (opts.chunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${total}\r\n`) +
        '\r\n',
    );
    const frame = (b: Buffer) =>
      opts.chunked ? [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')] : [b];
    const next = () => {
      while (out.sent < total) {
        const n = Math.min(piece.length, total - out.sent);
        out.sent += n;
        const parts = frame(n === piece.length ? piece : piece.subarray(0, n));
        let ok = true;
        for (const p of parts) ok = socket.write(p) && ok;
        if (!ok) {
          socket.once('drain', next);
          return;
        }
      }
      if (opts.chunked) socket.write('0\r\n\r\n');
    };
    socket.on('connect', next);
  });
}

interface ContinueOutcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** whether the server sent `100 Continue` */
  continued: boolean;
}

/** POSTs with `Expect: 100-continue`, sending `body` only once 100 Continue came. */
function postExpecting(
  path: string,
  declared: number,
  body: string | undefined,
  token: string | undefined = g.adminToken,
): Promise<ContinueOutcome> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request(`${g.url}${path}`, {
      method: 'POST',
      agent: false,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
        'content-length': String(declared),
        expect: '100-continue',
      },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        // Told not to send: the client gives its body up.
        if (!continued) req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, continued });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

function assert413(o: { status: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(o.status, 413, o.body);
  assert.match(String(o.headers['content-type']), /application\/json/);
  const body = JSON.parse(o.body) as { error: string; code: string };
  assert.equal(body.code, 'PAYLOAD_TOO_LARGE');
  assert.match(body.error, /limit of 67108864/);
}

test('a declared 130 MB body sent to its end gets a readable 413 JSON, not a reset', async () => {
  const o = await postRaw('/v2/models/mlp/infer', BIG);
  assert.equal(o.error, undefined, 'the connection is not reset');
  assert.equal(o.sent, BIG, 'the client sent its whole body');
  assert413(o);
});

test('a chunked 130 MB body is cut at the limit with a readable 413 JSON, not a reset', async () => {
  const o = await postRaw('/v1/models/mlp:predict', BIG, { chunked: true });
  assert.equal(o.error, undefined, 'the connection is not reset');
  assert413(o);
});

test('with Expect: 100-continue, the 413 comes instead of 100 Continue: no body is asked for', async () => {
  const o = await postExpecting('/v2/models/mlp/infer', BIG, undefined);
  assert413(o);
  assert.equal(o.continued, false, 'the gateway did not send 100 Continue');
  assert.equal(o.headers.connection, 'close');
  // Without a token, a 401 comes instead of 100 Continue.
  const refused = await postExpecting('/v2/models/mlp/infer', BIG, undefined, '');
  assert.equal(refused.status, 401);
  assert.equal(refused.continued, false);
});

test('with Expect: 100-continue, a body within the limit is asked for and answered', async () => {
  const body = JSON.stringify({
    inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
  });
  const o = await postExpecting('/v2/models/mlp/infer', Buffer.byteLength(body), body);
  assert.equal(o.continued, true);
  assert.equal(o.status, 200, o.body);
  assert.equal((JSON.parse(o.body) as { outputs: unknown[] }).outputs.length, 1);
  // The management API still asks for bodies at once.
  const token = await postExpecting('/api/v1/tokens', 30, JSON.stringify({ name: 'x'.repeat(19) }));
  assert.equal(token.continued, true);
  assert.equal(token.status, 400, token.body);
});

test('a large KServe body sent to TF :predict: a 400 under 1 KB that names /v2/.../infer', async () => {
  // About 16 MB: one v2 tensor of 2 million values, as the user sent it.
  const data = Array.from({ length: 2_000_000 }, (_, i) => (i % 1000) / 7);
  const kserve = JSON.stringify({
    inputs: [{ name: 'x', shape: [500_000, 4], datatype: 'FP32', data }],
  });
  assert.ok(kserve.length > 10 * MB);
  const res = await fetch(`${g.url}/v1/models/mlp:predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: kserve,
  });
  const text = await res.text();
  assert.equal(res.status, 400, text.slice(0, 300));
  assert.ok(Buffer.byteLength(text) < 1024, `error body of ${Buffer.byteLength(text)} bytes`);
  const body = JSON.parse(text) as { error: string; code: string };
  assert.equal(body.code, 'BAD_INPUT');
  assert.match(body.error, /KServe v2 request.*\/v2\/models\/mlp\/infer/);

  // The other way round: TF Serving rows sent to the v2 route.
  const tf = await fetch(`${g.url}/v2/models/mlp/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [[1, 2, 3, 4]] }),
  });
  const tfBody = (await tf.json()) as { error: string };
  assert.equal(tf.status, 400);
  assert.match(tfBody.error, /TF Serving predict request.*:predict/);
});

test('a wrong element deep in a large TF request is named briefly, not quoted whole', async () => {
  const big = { nested: 'y'.repeat(2 * MB) };
  const res = await fetch(`${g.url}/v1/models/mlp:predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [[1, 2, 3, big]] }),
  });
  const text = await res.text();
  assert.equal(res.status, 400);
  assert.ok(Buffer.byteLength(text) < 1024, `error body of ${Buffer.byteLength(text)} bytes`);
  assert.match(text, /element 3 is an object with \\"nested\\", expected a number/);
});
