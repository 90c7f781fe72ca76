import sharp from 'sharp';
import type { ImageShape } from '../../../shared/index.js';
import { entryError } from './bad-input.js';

export interface DecodedImage extends ImageShape {
  /** HWC bytes. */
  data: Buffer;
}

export interface DecodeOptions {
  resize?: { height: number; width: number };
  /** Output channels; by default the image's own (grey 1, RGB 3, RGBA 4). */
  channels?: 1 | 3 | 4;
}

/** Decodes a PNG or JPEG to raw HWC bytes; a corrupt file is `BadInput` naming the entry. */
export async function decodeImage(
  bytes: Buffer,
  entry: string,
  opts: DecodeOptions,
): Promise<DecodedImage> {
  try {
    let img = sharp(bytes, { failOn: 'error' });
    const meta = await img.metadata();
    const own = meta.channels ?? 3;
    const channels = opts.channels ?? (own <= 2 ? 1 : own === 4 ? 4 : 3);
    if (opts.resize) img = img.resize(opts.resize.width, opts.resize.height, { fit: 'fill' });
    if (channels === 1) img = img.toColourspace('b-w').removeAlpha();
    else if (channels === 3) img = img.removeAlpha().toColourspace('srgb');
    else img = img.ensureAlpha().toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data, height: info.height, width: info.width, channels: info.channels };
  } catch (err) {
    throw entryError(entry, `corrupt image (${(err as Error).message})`);
  }
}

export function isImageName(name: string): boolean {
  return /\.(png|jpe?g)$/i.test(name);
}
