/**
 * "Your model" in the look-inside view: an .onnx file the user drops on the page (or picks) is
 * checked and loaded into onnxruntime-web beside the run's teacher and student. It must take one
 * image of the page's size (H·W values in any shape, e.g. [N,784], [N,1,28,28] or [N,28,28,1]) as
 * float32, float16 or float64, and give [N, classes] scores; its class names come from its
 * metadata (dark-knowledge.classes, as dk train saves them) or are the class indices. Pixels are
 * fed in [0,1], or as (x − mean) / std for a model trained on normalised inputs. Browser-safe.
 */
import { scanOnnx } from '../graph/onnx.js';
import { BOUNDARY_FLOAT_TYPES, type BoundaryFloatType } from '../runtime/core.js';
import { Runner } from '../runtime/web.js';

/** Metadata key of the class names (src/train/network.ts CLASSES_KEY; not imported: that module pulls in the trainer's graph code). */
const CLASSES_KEY = 'dark-knowledge.classes';

export interface OwnModel {
  file: string;
  bytes: number;
  runner: Runner;
  input: { name: string; type: BoundaryFloatType; dims: number[] };
  output: string;
  /** Known when the output's last dimension is fixed; else after the first run. */
  classNames: string[] | null;
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Check `bytes` (the file `file`) and load it; an Error whose message names the file and what was expected otherwise. */
export async function loadOwnModel(file: string, bytes: Uint8Array, height: number, width: number): Promise<OwnModel> {
  if (!/\.onnx$/i.test(file)) throw new Error(`${file}: expected an .onnx file`);
  let metadata: Record<string, string>;
  let externalFiles: string[];
  try {
    ({ metadata, externalFiles } = scanOnnx(bytes));
  } catch (e) {
    throw new Error(`${file}: ${firstLine(e)}`);
  }
  if (externalFiles.length) throw new Error(`${file}: its weights are in separate file(s) (${externalFiles.join(', ')}); the page takes one self-contained .onnx`);
  let runner: Runner;
  try {
    runner = await Runner.create(bytes);
  } catch (e) {
    throw new Error(`${file}: onnxruntime-web cannot load it: ${firstLine(e)}`);
  }
  const { inputs, outputs } = runner.io;
  const fail = async (why: string): Promise<never> => {
    await runner.release();
    throw new Error(`${file}: ${why}`);
  };
  if (inputs.length !== 1) return fail(`takes ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); expected one image input`);
  const inp = inputs[0];
  if (!(BOUNDARY_FLOAT_TYPES as readonly (string | null)[]).includes(inp.type)) return fail(`input '${inp.name}' is ${inp.type ?? 'not a tensor'}; expected float32, float16 or float64`);
  const free = inp.shape.filter((d) => typeof d !== 'number').length;
  const dims = inp.shape.map((d) => (typeof d === 'number' ? d : 1));
  const size = dims.reduce((a, b) => a * b, 1);
  if (free > 1 || size !== height * width) {
    return fail(`input '${inp.name}' [${inp.shape.join(', ')}] does not take one ${height}×${width} image (${height * width} values with one batch dimension)`);
  }
  const out = outputs.find((o) => o.name === 'logits') ?? outputs.find((o) => o.shape.length === 2) ?? outputs[0];
  if (!out || out.type === null) return fail('has no tensor output');
  let classNames: string[] | null = null;
  const last = out.shape.at(-1);
  const raw = metadata[CLASSES_KEY];
  if (raw !== undefined) {
    try {
      const v = JSON.parse(raw) as unknown;
      if (Array.isArray(v) && v.every((s) => typeof s === 'string')) classNames = v;
    } catch {
      // unreadable names: the indices instead
    }
  }
  if (classNames && typeof last === 'number' && classNames.length !== last) classNames = null;
  if (!classNames && typeof last === 'number') classNames = Array.from({ length: last }, (_, k) => String(k));
  return { file, bytes: bytes.length, runner, input: { name: inp.name, type: inp.type as BoundaryFloatType, dims }, output: out.name, classNames };
}

/** The model's scores for one image's pixels in [0,1], fed as (x − mean) / std. */
export async function runOwnModel(m: OwnModel, x: Float32Array, norm: { mean: number; std: number }): Promise<number[]> {
  const fed = norm.mean === 0 && norm.std === 1 ? x : x.map((v) => (v - norm.mean) / norm.std);
  const o = await m.runner.runFloat({ name: m.input.name, type: m.input.type, dims: m.input.dims, data: fed }, m.output);
  const scores = [...o.data];
  if (!m.classNames || m.classNames.length !== scores.length) m.classNames = Array.from({ length: scores.length }, (_, k) => m.classNames?.[k] ?? String(k));
  return scores;
}
