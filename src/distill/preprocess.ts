/**
 * Feeding a teacher: the data's examples are [0,1] pixels, [C,H,W] for images (or [D] for
 * vectors). A teacher may want them normalised per channel, (x − mean[c]) / std[c], as
 * torchvision-style models do, and/or channels last ([H,W,C], as Keras / TensorFlow exports do).
 *
 * The layout 'auto' is decided from the teacher's input shape: with one channel there is nothing
 * to decide (both orders hold the same values in the same order); with several it must be an
 * image input [C,H,W] or [H,W,C] that only one of the two orders fits, otherwise the caller is
 * asked to say which.
 */
import { basename } from 'node:path';
import { UsageError } from '../util/errors.js';
import type { TeacherLayout, TeacherPrep } from './modes.js';

/**
 * Parameter names for messages (ParamProblem, src/util/errors.ts): the model's, and the prefix of
 * its preprocessing parameters — a teacher's ('teacher', 'teacher.mean', …) or a model scored by
 * `dk eval` ('model', 'model.mean', …). The CLI names them by their flags (src/cli/flags.ts).
 */
export interface PrepNames {
  model: 'teacher' | 'model' | 'compare';
  prefix: 'teacher.' | 'model.';
}
export const TEACHER_PARAMS: PrepNames = { model: 'teacher', prefix: 'teacher.' };
export const MODEL_PARAMS: PrepNames = { model: 'model', prefix: 'model.' };

const fmt = (dims: readonly (number | string)[]) => `[${dims.join(',')}]`;

/** Per-example [channels, pixels per channel] of the data: [C, H·W] for [C,H,W], else [1, D]. */
export function channelsOf(shape: readonly number[]): { channels: number; plane: number } {
  if (shape.length === 3) return { channels: shape[0], plane: shape[1] * shape[2] };
  return { channels: 1, plane: shape.reduce((a, b) => a * b, 1) };
}

/** A resolved preprocessing: per-channel mean and 1/std (null when the pixels go as they are), and the layout. */
export interface ResolvedPrep {
  /** Per channel (length C), or null: no normalisation. */
  mean: Float64Array | null;
  std: Float64Array | null;
  layout: 'nchw' | 'nhwc';
}

/** Check mean/std against the data's channel count (1 value, or one per channel; std > 0). */
export function resolveNormalisation(prep: TeacherPrep, shape: readonly number[], who: string, names: PrepNames = TEACHER_PARAMS): Pick<ResolvedPrep, 'mean' | 'std'> {
  const { channels } = channelsOf(shape);
  const one = (key: 'mean' | 'std', fill: number): Float64Array | null => {
    const v = prep[key];
    if (v === undefined) return null;
    const param = `${names.prefix}${key}`;
    if (v.length !== 1 && v.length !== channels) {
      throw new UsageError({ param, detail: `${v.length} values for ${who}, but the data's examples ${fmt(shape)} have ${channels} channel${channels === 1 ? '' : 's'}; give 1 value (all channels) or ${channels}` });
    }
    for (const x of v) {
      if (!Number.isFinite(x) || (key === 'std' && !(x > 0))) throw new UsageError({ param, detail: `expected ${key === 'std' ? 'positive ' : ''}finite numbers for ${who}, got ${v.join(',')}` });
    }
    const out = new Float64Array(channels).fill(fill);
    for (let c = 0; c < channels; c++) out[c] = v.length === 1 ? v[0] : v[c];
    return out;
  };
  const mean = one('mean', 0);
  const std = one('std', 1);
  if (!mean && !std) return { mean: null, std: null };
  return { mean: mean ?? new Float64Array(channels), std: std ?? new Float64Array(channels).fill(1) };
}

const fits = (declared: readonly (number | string)[], want: readonly number[]) => declared.length === want.length && declared.every((d, i) => typeof d !== 'number' || d === want[i]);

/**
 * The layout to feed: as given, or (auto) decided from the teacher's declared per-example input
 * dims `declared` (symbolic dims as strings) and the data's shape; `file` names the model in
 * messages. Returns the layout and, when
 * auto chose channels last, a note for the log.
 */
export function resolveLayout(layout: TeacherLayout, declared: readonly (number | string)[], shape: readonly number[], file: string, names: PrepNames = TEACHER_PARAMS): { layout: 'nchw' | 'nhwc'; note?: string } {
  const param = `${names.prefix}layout`;
  if (shape.length !== 3) {
    if (layout === 'nhwc') throw new UsageError({ param, value: 'nhwc', detail: `${file} would take channels-last images, but the data's examples are ${fmt(shape)}, not images [C,H,W]` });
    return { layout: 'nchw' };
  }
  if (layout !== 'auto') return { layout };
  const [C, H, W] = shape;
  if (C === 1) return { layout: 'nchw' };
  const first = fits(declared, [C, H, W]);
  const last = fits(declared, [H, W, C]);
  if (first && !last) return { layout: 'nchw' };
  if (last && !first) return { layout: 'nhwc', note: `${basename(file)}: input ${fmt(['N', ...declared])} is channels-last; examples ${fmt(shape)} are fed as ${fmt([H, W, C])}` };
  const why = first && last ? 'fits both channels-first and channels-last images' : `is not an image input ${fmt(['N', C, H, W])} or ${fmt(['N', H, W, C])}`;
  throw new UsageError({ param: names.model, value: file, detail: `cannot tell the input layout: its input ${fmt(['N', ...declared])} ${why} for the data's ${C}-channel examples ${fmt(shape)}; give {${param}} nchw or nhwc` });
}

/**
 * Rows [s, s+m) of `x` (examples of `shape`), normalised and laid out as `p` says, written into
 * `out` (which may be longer: the rest is left as it is).
 */
export function prepareRows(x: Float32Array, s: number, m: number, shape: readonly number[], p: ResolvedPrep, out: Float32Array | Float64Array): void {
  const { channels: C, plane: P } = channelsOf(shape);
  const D = C * P;
  if (!p.mean && p.layout === 'nchw') {
    out.set(x.subarray(s * D, (s + m) * D));
    return;
  }
  const mean = p.mean ?? new Float64Array(C);
  const std = p.std ?? new Float64Array(C).fill(1);
  const nhwc = p.layout === 'nhwc';
  for (let r = 0; r < m; r++) {
    const src = (s + r) * D;
    const dst = r * D;
    for (let c = 0; c < C; c++) {
      const mc = mean[c];
      const sc = std[c];
      const base = src + c * P;
      if (nhwc) for (let i = 0; i < P; i++) out[dst + i * C + c] = (x[base + i] - mc) / sc;
      else for (let i = 0; i < P; i++) out[dst + c * P + i] = (x[base + i] - mc) / sc;
    }
  }
}

/** Whether a prep changes anything (for cache keys and logs). */
export function prepIsDefault(p: TeacherPrep | undefined): boolean {
  return !p || (p.mean === undefined && p.std === undefined && (p.layout === undefined || p.layout === 'auto') && p.output === undefined);
}
