import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImageBatch, ImageShape } from '../../../shared/index.js';
import { BadInput } from '../../../shared/index.js';
import { archiveEntries, readEntry, type ArchiveEntry } from './archive.js';
import { entryError } from './bad-input.js';
import { parseIdxStreams } from './idx.js';
import { decodeImage, isImageName, type DecodedImage } from './image-decode.js';
import { createLabelCollector } from './labels.js';
import { createBlockSpill, type BlockSpill } from './spill.js';
import { rowsPerBatch } from './tabular-spill.js';
import type { ParseContext, ParsedDataset } from './types.js';

/** @defaultValue 64 MiB: larger than any sane single training image. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
/** Decodes run on libvips threads; a few in flight keep them busy while the archive is read. */
const DECODES_IN_FLIGHT = 4;

interface Pending {
  entry: string;
  className: string;
  image: Promise<DecodedImage>;
}

/**
 * A tar or zip holding either PNG/JPEG images in one folder per class (the class is the
 * image's parent folder; ids follow sorted folder names) or an IDX images + labels pair.
 * Images are decoded into spill blocks (`[rows][label ids][pixels]`), one batch each.
 */
export async function parseArchive(
  source: AsyncIterable<Buffer>,
  head: Buffer,
  ctx: ParseContext,
): Promise<ParsedDataset> {
  const dir = await mkdtemp(join(ctx.tmpDir, 'swarmml-intake-'));
  const spill = createBlockSpill({ dir, memoryLimitBytes: ctx.opts.memoryLimitBytes });
  const cleanup = async (): Promise<void> => {
    await spill.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const found = await readArchive(source, head, ctx, dir, spill);
    if (found.idx.size > 0) {
      if (found.images > 0) {
        throw new BadInput('archive mixes IDX files and images: upload one kind', {
          reason: 'mixed archive',
        });
      }
      const [images, labels] = idxPair(found.idx);
      const parsed = await parseIdxStreams(createReadStream(images), createReadStream(labels), ctx);
      return { ...parsed, close: async () => (await parsed.close(), await cleanup()) };
    }
    if (found.images === 0 || !found.shape) {
      throw new BadInput('archive holds no PNG/JPEG images in class folders and no IDX files', {
        reason: 'empty',
      });
    }
    return imageResult(ctx, spill, found, found.shape, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

interface Found {
  images: number;
  shape: ImageShape | null;
  classNames: string[];
  mapLabel: (firstAppearanceId: number) => number;
  /** Spooled IDX files by entry name. */
  idx: Map<string, string>;
}

async function readArchive(
  source: AsyncIterable<Buffer>,
  head: Buffer,
  ctx: ParseContext,
  dir: string,
  spill: BlockSpill,
): Promise<Found> {
  const classes = createLabelCollector({ kind: 'class' });
  const idx = new Map<string, string>();
  const pending: Pending[] = [];
  let shape: ImageShape | null = null;
  let images = 0;
  let block: ImageBlock | null = null;

  const settle = async (): Promise<void> => {
    const p = pending.shift()!;
    const img = await p.image;
    if (!shape) {
      shape = { height: img.height, width: img.width, channels: img.channels };
    } else if (
      img.height !== shape.height ||
      img.width !== shape.width ||
      img.channels !== shape.channels
    ) {
      throw entryError(
        p.entry,
        `inconsistent image shape ${img.height}x${img.width}x${img.channels}, expected ` +
          `${shape.height}x${shape.width}x${shape.channels} (pass resize to accept mixed sizes)`,
      );
    }
    block ??= newBlock(shape, ctx);
    block.add(classes.add(p.className, NaN), img.data);
    images++;
    if (block.full()) {
      spill.add(block.bytes());
      block = null;
      await spill.flush();
    }
  };

  for await (const entry of archiveEntries(source, head, dir)) {
    if (!entry.isFile || isJunk(entry.name)) continue;
    if (isIdxName(entry.name)) {
      const path = join(dir, `idx-${idx.size}`);
      await pipeline(await entry.open(), createWriteStream(path));
      idx.set(entry.name, path);
      continue;
    }
    if (!isImageName(entry.name)) continue;
    const className = classOf(entry);
    const bytes = await readEntry(entry, MAX_IMAGE_BYTES);
    // Until the first image is decoded its channel count is unknown, so the first decode
    // runs alone; with resize, later images are then converted to the same channels.
    if (!shape && pending.length > 0) await settle();
    const s = shape as ImageShape | null;
    const channels = ctx.opts.channels ?? (ctx.opts.resize && s ? s.channels : undefined);
    const image = decodeImage(bytes, entry.name, {
      ...(ctx.opts.resize ? { resize: ctx.opts.resize } : {}),
      ...(channels ? { channels: channels as 1 | 3 | 4 } : {}),
    });
    image.catch(() => {}); // awaited in order by settle(); this only silences the early rejection
    pending.push({ entry: entry.name, className, image });
    if (pending.length >= DECODES_IN_FLIGHT) await settle();
  }
  while (pending.length > 0) await settle();
  const last = block as ImageBlock | null;
  if (last && last.rows() > 0) spill.add(last.bytes());
  // Blocks hold first-appearance ids; the emit pass maps them to ids of sorted class names.
  const mapping = images > 0 ? classes.resolve() : null;
  return {
    images,
    shape,
    classNames: mapping?.names ?? [],
    mapLabel: (id) => mapping!.map(NaN, id),
    idx,
  };
}

interface ImageBlock {
  add(labelId: number, pixels: Buffer): void;
  full(): boolean;
  rows(): number;
  bytes(): Uint8Array;
}

function newBlock(shape: ImageShape, ctx: ParseContext): ImageBlock {
  const rowBytes = shape.height * shape.width * shape.channels;
  const cap = rowsPerBatch(rowBytes, ctx.batchRows, ctx.batchBytes);
  const buf = new Uint8Array(4 + 4 * cap + rowBytes * cap);
  const u32 = new Uint32Array(buf.buffer, 0, 1 + cap);
  let rows = 0;
  return {
    add(labelId, pixels) {
      u32[1 + rows] = labelId;
      buf.set(pixels, 4 + 4 * cap + rows * rowBytes);
      rows++;
      u32[0] = rows;
    },
    full: () => rows === cap,
    rows: () => rows,
    bytes: () => (rows === cap ? buf : packed(buf, rows, cap, rowBytes)),
  };
}

/** A part-filled block, rewritten so that pixels follow the label ids directly. */
function packed(buf: Uint8Array, rows: number, cap: number, rowBytes: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * rows + rows * rowBytes);
  out.set(buf.subarray(0, 4 + 4 * rows));
  out.set(buf.subarray(4 + 4 * cap, 4 + 4 * cap + rows * rowBytes), 4 + 4 * rows);
  return out;
}

function imageResult(
  ctx: ParseContext,
  spill: BlockSpill,
  found: Found,
  shape: ImageShape,
  cleanup: () => Promise<void>,
): ParsedDataset {
  const rowBytes = shape.height * shape.width * shape.channels;
  let started = false;
  return {
    info: {
      format: 'images',
      kind: 'image',
      features: rowBytes,
      labelKind: 'class',
      labelNames: found.classNames,
      imageShape: shape,
      count: found.images,
      gzip: ctx.gzip,
    },
    async *batches(): AsyncGenerator<ImageBatch> {
      if (started) throw new Error('batches() can be iterated once');
      started = true;
      try {
        for await (const b of spill.read()) {
          const rows = new Uint32Array(b.buffer, b.byteOffset, 1)[0]!;
          const ids = new Uint32Array(b.buffer, b.byteOffset + 4, rows);
          const labels = new Float32Array(rows);
          for (let i = 0; i < rows; i++) labels[i] = found.mapLabel(ids[i]!);
          const start = b.byteOffset + 4 + 4 * rows;
          yield {
            kind: 'image',
            rows,
            ...shape,
            pixels: new Uint8Array(b.buffer.slice(start, start + rows * rowBytes)),
            labels,
          };
        }
      } finally {
        await cleanup();
      }
    },
    close: cleanup,
  };
}

/** The class of an image: the name of the folder it is in. */
function classOf(entry: ArchiveEntry): string {
  const parent = basename(dirname(entry.name));
  if (parent === '.' || parent === '') {
    throw entryError(entry.name, 'image outside a class folder (expected class/image.png)');
  }
  return parent;
}

function isJunk(name: string): boolean {
  return name.split('/').some((p) => (p.startsWith('.') && p !== '.') || p === '__MACOSX');
}

function isIdxName(name: string): boolean {
  return /idx[1-4]-ubyte(\.gz)?$|\.idx[1-4]?(\.gz)?$/i.test(basename(name));
}

/** The images and labels files of the archive's one IDX pair, told apart by name. */
function idxPair(files: Map<string, string>): [string, string] {
  const names = [...files.keys()];
  const images = names.filter((n) => /image|idx3|idx4/i.test(basename(n)));
  const labels = names.filter((n) => /label|idx1/i.test(basename(n)));
  if (images.length !== 1 || labels.length !== 1) {
    throw new BadInput(
      `an IDX archive must hold exactly one images file and one labels file; found ${names.join(', ')}`,
      { reason: 'idx pair', entries: names },
    );
  }
  return [files.get(images[0]!)!, files.get(labels[0]!)!];
}
