/**
 * The three servers the serving benchmark compares, each started in its own child process
 * (`main.ts` forks itself with the server's name) so the load generator never shares their
 * event loop.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as ort from 'onnxruntime-node';
import { createLogger } from '../../../shared/runtime/logger.js';
import { buildApp } from '../../../services/serving/app.js';
import { loadConfig } from '../../../services/serving/config.js';
import { InMemoryModelSource } from '../../../services/serving/hosting/model-source.js';
import { mlpModel } from '../../../test/helpers/onnx-models.js';
import { sessionOptions } from './ocr-servers.js';

export type ServerKind = 'bare' | 'express' | 'serving' | 'serving-thread';

/** (a) the physical limit: node:http answering a fixed body of the response's size */
async function bare(responseBody: string): Promise<number> {
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

/** (b) what a user writes instead: express, JSON body parser, session.run per request */
async function plainExpress(threads: number): Promise<number> {
  const session = await ort.InferenceSession.create(mlpModel(), sessionOptions(threads));
  // one run first, as serving's model process does before it reports the model loaded
  await session.run({ x: new ort.Tensor('float32', new Float32Array(784), [1, 784]) });
  const app = express();
  app.use(express.json({ limit: '10mb' }));
  app.post('/v2/models/mlp/infer', async (req, res) => {
    const inp = (req.body as { inputs: { shape: number[]; data: number[] }[] }).inputs[0]!;
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(inp.data), inp.shape),
    });
    const probs = out.probs!;
    res.json({
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
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  return (server.address() as AddressInfo).port;
}

/**
 * (c) swarmml serving: its own node:http server, dynamic batching, the model in a model
 * process (`serving`) or a model thread (`serving-thread`)
 */
async function serving(threads: number, mode: 'process' | 'thread'): Promise<number> {
  const source = new InMemoryModelSource().put('mlp', 1, mlpModel(), { production: true });
  const app = buildApp({
    config: loadConfig({ PORT: '0', INTRA_OP_THREADS: String(threads), HOSTING_MODE: mode }),
    log: createLogger('bench', 'warn'),
    source,
  });
  await app.start();
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  return (app.server.address() as AddressInfo).port;
}

export async function startServer(
  kind: ServerKind,
  responseBody: string,
  threads: number,
): Promise<number> {
  if (kind === 'bare') return bare(responseBody);
  if (kind === 'express') return plainExpress(threads);
  return serving(threads, kind === 'serving-thread' ? 'thread' : 'process');
}
