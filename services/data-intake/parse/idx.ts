import type { ImageBatch } from '../../../shared/index.js';
import { BadInput } from '../../../shared/index.js';
import { createByteReader, gunzip, isGzip, peek, toChunks, type ByteSource } from './source.js';
import { rowsPerBatch } from './tabular-spill.js';
import type { ParseContext, ParsedDataset } from './types.js';

const UBYTE = 0x08;

/** Labels are one byte per row: holding them all is cheap (70,000 rows = 70 KB). */
async function readLabels(source: ByteSource, ctx: ParseContext): Promise<Uint8Array> {
  const reader = createByteReader(await maybeGunzip(source, ctx.opts.maxDecompressedBytes));
  const head = await reader.read(8);
  if (head.length < 8 || head.readUInt32BE(0) !== 0x00000801) {
    throw new BadInput('not an IDX labels file (magic 0x00000801)', { reason: 'bad idx labels' });
  }
  const count = head.readUInt32BE(4);
  const labels = await reader.read(count);
  if (labels.length < count) {
    throw new BadInput(`IDX labels file ends after ${labels.length} of ${count} labels`, {
      reason: 'truncated idx',
    });
  }
  return labels;
}

async function maybeGunzip(
  source: ByteSource,
  maxBytes: number | undefined,
): Promise<AsyncIterable<Buffer>> {
  const { head, rest } = await peek(toChunks(source), 2);
  return isGzip(head) ? gunzip(rest, { maxBytes }) : rest;
}

/**
 * MNIST-style IDX: an images file (ubyte, `count x rows x cols` or `count x rows x cols x channels`)
 * and a labels file, each plain or gzip. The header gives every dimension, so this is one
 * streaming pass; labels become classes `0..max` named by their value.
 */
export async function parseIdxStreams(
  images: ByteSource,
  labelSource: ByteSource,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const labels = await readLabels(labelSource, ctx);
  const reader = createByteReader(await maybeGunzip(images, ctx.opts.maxDecompressedBytes));
  const magic = await reader.read(4);
  const ndim = magic[3] ?? 0;
  if (magic.length < 4 || magic[0] !== 0 || magic[1] !== 0 || (ndim !== 3 && ndim !== 4)) {
    throw new BadInput('not an IDX images file (magic 0x00000803 or 0x00000804)', {
      reason: 'bad idx images',
    });
  }
  if (magic[2] !== UBYTE) {
    throw new BadInput('only unsigned-byte IDX images are supported', { reason: 'idx type' });
  }
  const dims = await reader.read(4 * ndim);
  if (dims.length < 4 * ndim)
    throw new BadInput('IDX header is truncated', { reason: 'truncated idx' });
  const [count, height, width, channels = 1] = Array.from({ length: ndim }, (_, i) =>
    dims.readUInt32BE(4 * i),
  ) as [number, number, number, number?];
  if (count !== labels.length) {
    throw new BadInput(`IDX images file has ${count} images but labels file has ${labels.length}`, {
      reason: 'idx count mismatch',
    });
  }
  if (count === 0) throw new BadInput('empty file: no data rows', { reason: 'empty' });
  const rowBytes = height * width * channels;
  let maxLabel = 0;
  for (const l of labels) if (l > maxLabel) maxLabel = l;
  const regression = ctx.opts.labelKind === 'regression';
  const per = rowsPerBatch(rowBytes, ctx.batchRows, ctx.batchBytes);
  let started = false;
  return {
    info: {
      format: 'idx',
      kind: 'image',
      features: rowBytes,
      labelKind: regression ? 'regression' : 'class',
      ...(regression
        ? {}
        : { labelNames: Array.from({ length: maxLabel + 1 }, (_, i) => String(i)) }),
      imageShape: { height, width, channels },
      count,
      gzip: ctx.gzip,
    },
    async *batches(): AsyncGenerator<ImageBatch> {
      if (started) throw new Error('batches() can be iterated once');
      started = true;
      for (let at = 0; at < count; at += per) {
        const rows = Math.min(per, count - at);
        const pixels = await reader.read(rows * rowBytes);
        if (pixels.length < rows * rowBytes) {
          throw new BadInput(
            `IDX images file ends inside image ${at + Math.floor(pixels.length / rowBytes)}`,
            {
              reason: 'truncated idx',
            },
          );
        }
        yield {
          kind: 'image',
          rows,
          height,
          width,
          channels,
          pixels: new Uint8Array(pixels),
          labels: Float32Array.from(labels.subarray(at, at + rows)),
        };
      }
    },
    close: () => reader.close(),
  };
}
