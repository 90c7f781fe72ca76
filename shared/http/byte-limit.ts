import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { PayloadTooLarge } from '../errors.js';

/** Passes bytes through and fails with PayloadTooLarge once more than `limitBytes` went by. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly limitBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limitBytes) {
      cb(
        new PayloadTooLarge(`body exceeds the limit of ${this.limitBytes} bytes`, {
          limitBytes: this.limitBytes,
        }),
      );
      return;
    }
    cb(null, chunk);
  }
}

/**
 * After an early answer: discard what the client still sends (so it can read the answer),
 * but close the connection once too much arrives.
 */
export function drainRequest(req: IncomingMessage, maxBytes = 16 * 1024 * 1024): void {
  if (req.complete) return;
  let seen = 0;
  req.unpipe();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > maxBytes) req.destroy();
  });
  req.resume();
}
