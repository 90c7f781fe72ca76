import { Transform, type TransformCallback } from 'node:stream';
import { PayloadTooLarge } from './errors.js';

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
