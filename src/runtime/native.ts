/**
 * The native kernels in Node: the addon `build/native/dk_native.node` (native/, built by
 * `npm run build` where g++, Node's headers and oneDNN's (Debian: libdnnl-dev) are installed)
 * runs graphs that use dark-knowledge's own operators (graph/native-ops.ts) in sessions it makes
 * through onnxruntime's C API — the same libonnxruntime that onnxruntime-node loaded — with the
 * operators registered as custom ops. Where the addon is missing, or DK_NATIVE=0 is set, nothing
 * is installed and training graphs keep onnxruntime's own formulations.
 *
 * A native session writes preallocated outputs in place (onnxruntime-node copies every output
 * into a fresh buffer) and runs on libuv's thread pool, as onnxruntime-node's sessions do.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ortTypes from 'onnxruntime-common';
import { type NativeSessionFactory, type RuntimeOptions, type SessionLike, sessionOptions } from './core.js';

type Typed = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array | Int8Array | Int16Array | Uint32Array | BigUint64Array;

/** A tensor crossing into the addon: element type as onnxruntime-common names it. */
interface AddonTensor {
  type: string;
  dims: number[];
  data: Typed;
}
interface AddonInfo {
  name: string;
  /** element type ('float32', …), or null for a non-tensor */
  type: string | null;
  /** dims, symbolic ones as their names ('' where unnamed: shown as '?') */
  shape: (number | string)[];
}
interface AddonOptions {
  intraOpThreads: number;
  optimizationLevel: number;
  memPattern: boolean;
  cpuArena: boolean;
  config: [string, string][];
  profilePrefix: string;
}
type Handle = object;
interface Addon {
  init(ortLibrary: string): { ort: string; dnnl: string };
  createSession(model: Uint8Array, opts: AddonOptions): Handle;
  io(h: Handle): { inputs: AddonInfo[]; outputs: AddonInfo[] };
  run(h: Handle, inputNames: string[], inputs: AddonTensor[], outputNames: string[], outputs: (AddonTensor | null)[]): Promise<AddonTensor[]>;
  endProfiling(h: Handle): string;
  release(h: Handle): void;
}

const OPT_LEVEL: Record<string, number> = { disabled: 0, basic: 1, extended: 2, layout: 3, all: 99 };

/** The addon's path: build/native/ at the package's root (this file is dist/src/runtime/native.js). */
export const ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'native', 'dk_native.node');

/** The libonnxruntime that onnxruntime-node loads (the addon must use the same one). */
function ortLibrary(require: NodeJS.Require): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  const lib = join(pkg, 'bin', 'napi-v6', process.platform, process.arch, process.platform === 'darwin' ? 'libonnxruntime.1.dylib' : 'libonnxruntime.so.1');
  if (!existsSync(lib)) throw new Error(`onnxruntime's library is not where onnxruntime-node keeps it: ${lib}`);
  return lib;
}

class NativeSession implements SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ortTypes.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ortTypes.InferenceSession.ValueMetadata[];
  private released = false;

  constructor(
    private readonly addon: Addon,
    private readonly h: Handle,
    private readonly Tensor: typeof ortTypes.Tensor,
  ) {
    const io = addon.io(h);
    const meta = (i: AddonInfo): ortTypes.InferenceSession.ValueMetadata =>
      (i.type === null ? { name: i.name, isTensor: false } : { name: i.name, isTensor: true, type: i.type, shape: i.shape.map((d) => (d === '' ? '?' : d)) }) as ortTypes.InferenceSession.ValueMetadata;
    this.inputNames = io.inputs.map((i) => i.name);
    this.outputNames = io.outputs.map((o) => o.name);
    this.inputMetadata = io.inputs.map(meta);
    this.outputMetadata = io.outputs.map(meta);
  }

  async run(feeds: Record<string, ortTypes.Tensor>, fetches?: unknown): Promise<Record<string, ortTypes.Tensor>> {
    if (this.released) throw new Error('this session was released');
    // as onnxruntime-common does: the model's inputs are taken from feeds, other entries ignored
    const inputNames = this.inputNames.filter((k) => k in feeds);
    const missing = this.inputNames.filter((k) => !(k in feeds));
    if (missing.length) throw new Error(`input '${missing[0]}' is missing in 'feeds'.`);
    const inputs = inputNames.map((k) => ({ type: feeds[k].type, dims: [...feeds[k].dims], data: feeds[k].data as Typed }));
    let outputNames: string[];
    let outputs: (AddonTensor | null)[];
    if (fetches === undefined) {
      outputNames = [...this.outputNames];
      outputs = outputNames.map(() => null);
    } else if (Array.isArray(fetches)) {
      outputNames = fetches as string[];
      outputs = outputNames.map(() => null);
    } else {
      const given = fetches as Record<string, ortTypes.Tensor | null>;
      outputNames = Object.keys(given);
      outputs = outputNames.map((k) => (given[k] ? { type: given[k]!.type, dims: [...given[k]!.dims], data: given[k]!.data as Typed } : null));
    }
    const got = await this.addon.run(this.h, inputNames, inputs, outputNames, outputs);
    const res: Record<string, ortTypes.Tensor> = {};
    outputNames.forEach((k, i) => {
      const t = got[i];
      res[k] = new this.Tensor(t.type as never, t.data as never, t.dims);
    });
    return res;
  }

  async endProfiling(): Promise<void> {
    this.addon.endProfiling(this.h);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.addon.release(this.h);
  }
}

/**
 * Load the addon and return the factory core.ts installs, or null (with the reason) where it is
 * not built or turned off. Throws where it is built but cannot load (a broken build is a bug to see).
 */
export function loadNative(Tensor: typeof ortTypes.Tensor): { factory: NativeSessionFactory | null; reason: string } {
  if (process.env.DK_NATIVE === '0') return { factory: null, reason: 'DK_NATIVE=0' };
  if (!existsSync(ADDON_PATH)) return { factory: null, reason: `not built (${ADDON_PATH} is missing)` };
  const require = createRequire(import.meta.url);
  let addon: Addon;
  let v: { ort: string; dnnl: string };
  try {
    addon = require(ADDON_PATH) as Addon;
    v = addon.init(ortLibrary(require));
  } catch (e) {
    throw new Error(`the native kernels (${ADDON_PATH}) do not load: ${(e as Error).message.split('\n')[0]}; rebuild them (npm run build) or set DK_NATIVE=0 to train without them`);
  }
  const factory: NativeSessionFactory = {
    description: `oneDNN ${v.dnnl} in onnxruntime ${v.ort}`,
    async create(model: Uint8Array, opts: RuntimeOptions): Promise<SessionLike> {
      const so = sessionOptions(opts);
      const config: [string, string][] = Object.entries((so.extra as { session?: Record<string, string> } | undefined)?.session ?? {}).map(([k, val]) => [`session.${k}`, String(val)]);
      const h = addon.createSession(model, {
        intraOpThreads: so.intraOpNumThreads ?? 0,
        optimizationLevel: OPT_LEVEL[so.graphOptimizationLevel ?? 'all'],
        memPattern: so.enableMemPattern ?? true,
        cpuArena: so.enableCpuMemArena ?? true,
        config,
        profilePrefix: so.enableProfiling ? (so.profileFilePrefix ?? 'onnxruntime_profile_') : '',
      });
      return new NativeSession(addon, h, Tensor);
    },
  };
  return { factory, reason: '' };
}
