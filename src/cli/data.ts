/**
 * The flags every command taking `--data` shares for image folders: `--image-size HxW`,
 * `--channels 1|3`, and where decoded images are cached (`--cache-dir`, `--no-cache`; a
 * command that already has these, like dk distill, uses its own for both caches).
 */
import { type Command, Option } from 'commander';
import { UsageError } from '../util/errors.js';
import type { SchemaParser } from './parse.js';

/** The `--data` flag's help text. */
export const DATA_HELP = "dataset: 'mnist' (built in), or a directory of MNIST-style IDX, NPY or CSV files, or of image folders train/<class>/*, test/<class>/* (PNG, JPEG, WebP)";

/** What the jobs get (serialisable: it crosses to the worker thread). */
export interface ImageFlags {
  size?: [number, number];
  channels?: 1 | 3;
  /** null: no cache. */
  cacheDir?: string | null;
}

/** [height, width] from 'HxW'. */
function parseHxW(raw: string, flag: string): [number, number] {
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(raw);
  const hw = m ? [Number(m[1]), Number(m[2])] : [];
  if (!m || !hw.every((v) => Number.isInteger(v) && v >= 1 && v <= 16384)) {
    throw new UsageError(`--${flag}: expected HEIGHTxWIDTH in pixels (1 to 16384 each), e.g. 32x32, got '${raw}'`);
  }
  return [hw[0], hw[1]];
}

/** The value stays a string 'HxW' (so the effective config round-trips); imageFlagsFrom splits it. */
function imageSize(flag: string): SchemaParser<string> {
  const fn = (raw: string): string => parseHxW(raw, flag).join('x');
  return Object.assign(fn, { schema: { type: 'string', pattern: '^\\s*\\d+\\s*[x×X]\\s*\\d+\\s*$' } });
}

function channels(flag: string): SchemaParser<1 | 3> {
  const fn = (raw: string): 1 | 3 => {
    const s = raw.trim();
    if (s !== '1' && s !== '3') throw new UsageError(`--${flag}: expected 1 (greyscale) or 3 (RGB), got '${raw}'`);
    return Number(s) as 1 | 3;
  };
  return Object.assign(fn, { schema: { enum: [1, 3, '1', '3'] } });
}

export function imageSizeOption(): Option {
  return new Option('--image-size <HxW>', 'image folders: resize every image to HxW pixels (bilinear), e.g. 32x32; without it all images must have one size').argParser(imageSize('image-size'));
}

export function channelsOption(): Option {
  return new Option('--channels <1|3>', 'image folders: 1 (greyscale) or 3 (RGB); default: 1 when every image is grey, else 3').argParser(channels('channels'));
}

export function cacheDirOption(): Option {
  return new Option('--cache-dir <dir>', 'where decoded image folders are cached').default('.dk-cache');
}

export function noCacheOption(): Option {
  return new Option('--no-cache', 'neither read nor write cached decoded images');
}

/** `--layout`: the input layout of the saved model (dk train, dk distill). */
export function layoutOption(): Option {
  return new Option('--layout <nchw|nhwc>', "input layout of the saved model: 'nchw' ([N,C,H,W], or [N,C·H·W] for MLPs), or 'nhwc' (channels last, [N,H,W,C]; image data only)")
    .choices(['nchw', 'nhwc'])
    .default('nchw');
}

/**
 * Refuse --image-size / --channels when no dataset named is an image folder (they would be
 * silently ignored otherwise).
 */
export async function checkImageFlagsApply(f: ImageFlags, data: string, transfer?: string): Promise<void> {
  if (f.size === undefined && f.channels === undefined) return;
  const [{ isImageData }, { isFlatImageDir }] = await Promise.all([import('../data/load.js'), import('../data/images.js')]);
  const isImages = (s: string) => {
    try {
      return isImageData(s) || isFlatImageDir(s);
    } catch {
      return false; // the loader reports what is wrong with it
    }
  };
  if (isImages(data) || (transfer !== undefined && isImages(transfer))) return;
  throw new UsageError(`${f.size !== undefined ? '--image-size' : '--channels'}: applies to image folders only, and --data ${data}${transfer !== undefined ? ` (and --transfer ${transfer})` : ''} is not one`);
}

/** Add the image-folder flags (and the cache flags, unless `cmd` has them already). */
export function addImageFlags(cmd: Command): Command {
  cmd.addOption(imageSizeOption()).addOption(channelsOption());
  if (!cmd.options.some((o) => o.long === '--cache-dir')) cmd.addOption(cacheDirOption()).addOption(noCacheOption());
  return cmd;
}

/** The parsed values of the flags addImageFlags adds. */
export interface ImageFlagValues {
  /** 'HxW', checked. */
  imageSize?: string;
  channels?: 1 | 3;
  cacheDir?: string;
  cache?: boolean;
}

export function imageFlagsFrom(f: ImageFlagValues): ImageFlags {
  const out: ImageFlags = { cacheDir: f.cache === false ? null : (f.cacheDir ?? '.dk-cache') };
  if (f.imageSize) out.size = parseHxW(f.imageSize, 'image-size');
  if (f.channels) out.channels = f.channels;
  return out;
}
