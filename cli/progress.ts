import { Transform, type TransformCallback } from 'node:stream';
import cliProgress from 'cli-progress';

/** Counts the bytes that pass through it (an upload's progress). */
export class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes: (total: number) => void = () => {}) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(this.bytes);
    cb(null, chunk);
  }
}

const MB = 1024 * 1024;

export interface UploadBar {
  update(bytes: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr (bytes sent, rate, ETA) when stderr is a terminal; nothing
 * otherwise, so scripts and `--json` output stay clean.
 */
export function uploadBar(totalBytes: number, enabled: boolean): UploadBar {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const t0 = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      format: 'upload [{bar}] {percentage}% | {sent}/{size} MB | {rate} MB/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (bytes: number) => ({
    sent: (bytes / MB).toFixed(1),
    size: (totalBytes / MB).toFixed(1),
    rate: (bytes / MB / Math.max(0.001, (performance.now() - t0) / 1000)).toFixed(1),
  });
  bar.start(totalBytes, 0, payload(0));
  return {
    update: (bytes) => bar.update(bytes, payload(bytes)),
    stop: () => bar.stop(),
  };
}
