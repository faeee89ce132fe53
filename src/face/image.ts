/**
 * Images for face detection: decoded with sharp to RGB bytes, EXIF orientation applied (so pixel
 * coordinates are those a viewer shows). Only formats sharp's bundled libvips really decodes are accepted.
 */
import { extname } from 'node:path';
import sharp from 'sharp';

/** An RGB image: `data` holds height × width × 3 bytes, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** File extensions `decodeImage` reads (lower case, with the dot). BMP and GIF are not among them. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff'];
const FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff']);

export const isImageFile = (path: string): boolean => IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());

/** Reads an image file (or bytes) to RGB. Errors name the file and say what is wrong. */
export async function decodeImage(input: string | Uint8Array, name = typeof input === 'string' ? input : 'image'): Promise<RgbImage> {
  if (typeof input === 'string' && !isImageFile(input)) {
    throw new Error(`${name}: unsupported format "${extname(input) || '(no extension)'}" (supported: ${IMAGE_EXTENSIONS.join(' ')})`);
  }
  let format: string | undefined;
  try {
    format = (await sharp(input).metadata()).format;
  } catch (e) {
    throw new Error(`${name}: cannot decode the image (${(e as Error).message})`);
  }
  if (!format || !FORMATS.has(format)) throw new Error(`${name}: unsupported image format ${JSON.stringify(format)} (supported: jpeg, png, webp, tiff)`);
  try {
    const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion to sRGB`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (e) {
    throw new Error(`${name}: cannot decode the image (${(e as Error).message})`);
  }
}
