/**
 * The servers the serving benchmark compares, each started in its own child process
 * (`main.ts` forks itself with the server's name) so the load generator never shares their
 * event loop.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as ort from 'onnxruntime-node';
import { mlpModel } from '../../../test/helpers/onnx-models.js';
import { sessionOptions } from './ocr-servers.js';
import type { HostingMode } from '../../../services/serving/hosting/worker-link.js';
import * as platform from './platform.js';

export type ServerKind =
  'bare' | 'naive' | 'express' | 'serving' | 'serving-thread' | 'serving-inline';

/** (a) the physical limit: node:http answering a fixed body of the response's size */
export async function bare(responseBody: string | Buffer): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(responseBody),
      });
      res.end(responseBody);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/**
 * Input features of the small model, 784 (an MNIST-sized row: JSON parsing weighs) unless
 * BENCH_MLP_FEATURES says otherwise, e.g. 13 for a tabular row, where the request itself is
 * all that is left to cost. Read here so that every contender, in every child, serves the same.
 */
export const MLP_FEATURES = Number(process.env.BENCH_MLP_FEATURES ?? 784);
export const MLP_SIZES = [MLP_FEATURES, 128, 10];

/** The small model's session, run once, as serving's model process does before it reports ready. */
async function mlpSession(threads: number): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(mlpModel(MLP_SIZES), sessionOptions(threads));
  const zeros = new Float32Array(MLP_FEATURES);
  await session.run({ x: new ort.Tensor('float32', zeros, [1, MLP_FEATURES]) });
  return session;
}

/** The answer both servers a user would write send: the KServe v2 shape, built by hand. */
const answer = (probs: ort.Tensor) => ({
  model_name: 'mlp',
  outputs: [
    {
      name: 'probs',
      datatype: 'FP32',
      shape: probs.dims,
      data: Array.from(probs.data as Float32Array),
    },
  ],
});

/**
 * (a-naive) the least a Node server can do for an answer: node:http, read the body,
 * `JSON.parse`, `session.run` on the HTTP thread, `JSON.stringify`; no validation, no
 * batching, no metrics. The ceiling for JSON inference in one Node process.
 */
async function naive(threads: number): Promise<number> {
  const session = await mlpSession(threads);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        inputs: { shape: number[]; data: number[] }[];
      };
      const inp = body.inputs[0]!;
      session.run({ x: new ort.Tensor('float32', Float32Array.from(inp.data), inp.shape) }).then(
        (out) => {
          const text = JSON.stringify(answer(out.probs!));
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** (b) what a user writes instead: express, JSON body parser, session.run per request */
async function plainExpress(threads: number): Promise<number> {
  const session = await mlpSession(threads);
  const app = express();
  app.use(express.json({ limit: '10mb' }));
  app.post('/v2/models/mlp/infer', async (req, res) => {
    const inp = (req.body as { inputs: { shape: number[]; data: number[] }[] }).inputs[0]!;
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(inp.data), inp.shape),
    });
    res.json(answer(out.probs!));
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  return (server.address() as AddressInfo).port;
}

/**
 * (c) swarmml serving: its own node:http server, dynamic batching, the model in a model
 * process (`serving`), a model thread (`serving-thread`) or on the HTTP thread (`serving-inline`)
 */
async function serving(threads: number, mode: HostingMode): Promise<number> {
  const app = await servingApp(threads, mode);
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  return (app.server.address() as AddressInfo).port;
}

async function servingApp(threads: number, mode: HostingMode) {
  const { buildApp, loadConfig, InMemoryModelSource, createLogger } = await platform.serving();
  const source = new InMemoryModelSource().put('mlp', 1, mlpModel(MLP_SIZES), {
    production: true,
  });
  const app = buildApp({
    config: loadConfig({ PORT: '0', INTRA_OP_THREADS: String(threads), HOSTING_MODE: mode }),
    log: createLogger('bench', 'warn'),
    source,
  });
  await app.start();
  return app;
}

/** A client token of the direct-port contender, stored as the gateway stores tokens. */
export const BENCH_CLIENT_TOKEN = 'smt_bench-client-token-0123456789abcdef';

/**
 * (c-direct) serving's direct port: the thread-hosted model behind the API token check
 * (tokens read from Redis, as in a deployment), what a client calls instead of the gateway
 */
export async function servingDirect(threads: number, redisUrl: string): Promise<number> {
  const { createLogger, createRedis, Keys, TokenLookup, tokenHash } = await platform.shared();
  const { createDirectServer } = await platform.directServer();
  const log = createLogger('bench', 'warn');
  const redis = createRedis(redisUrl, log);
  const keys = new Keys('bench');
  const info = { id: 'benchclient', name: 'bench', role: 'client', created: '', rateLimit: 0 };
  await redis.hset(keys.tokens(), tokenHash(BENCH_CLIENT_TOKEN), JSON.stringify(info));
  const app = await servingApp(threads, 'thread');
  const direct = createDirectServer(app, new TokenLookup(redis, keys), log);
  await new Promise<void>((r) => direct.listen(0, '127.0.0.1', r));
  return (direct.address() as AddressInfo).port;
}

export async function startServer(
  kind: ServerKind,
  responseBody: string,
  threads: number,
): Promise<number> {
  if (kind === 'bare') return bare(responseBody);
  if (kind === 'naive') return naive(threads);
  if (kind === 'express') return plainExpress(threads);
  return serving(
    threads,
    kind === 'serving' ? 'process' : kind === 'serving-thread' ? 'thread' : 'inline',
  );
}
