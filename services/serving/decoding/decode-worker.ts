/**
 * Worker-thread body of decode-offload.ts: turns KServe v2 JSON request bodies into tensors
 * (JSON.parse of thousands of numbers is most of a small model's request cost) and hands the
 * typed arrays back without a copy.
 */
import { parentPort } from 'node:worker_threads';
import { AppError } from '../../../shared/errors.js';
import { decodeInfer } from '../protocols/kserve-codec.js';
import type { DecodeReply, DecodeRequest } from './decode-offload.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');

port.on('message', (m: DecodeRequest) => {
  try {
    const body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const decoded = decodeInfer(body, undefined);
    // JSON data was copied into typed arrays of their own, so their buffers can move.
    const transfer = Object.values(decoded.inputs).map((t) => t.data.buffer as ArrayBuffer);
    port.postMessage({ id: m.id, decoded } satisfies DecodeReply, transfer);
  } catch (err) {
    const error =
      err instanceof AppError
        ? err.toJSON()
        : { name: 'Error', code: 'INTERNAL', message: (err as Error)?.message ?? String(err) };
    port.postMessage({ id: m.id, error } satisfies DecodeReply);
  }
});
port.postMessage({ ready: true } satisfies DecodeReply);
