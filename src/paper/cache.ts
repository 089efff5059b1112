/**
 * The paper job's resume cache: every training run it finishes is saved in DIR/.dk-paper-cache
 * (the weights as .onnx, the history as .json), keyed by a hash of everything that determines
 * it — the run's label, model spec, config, options, the training data, the teacher's targets
 * and the test set. `dk paper --resume` loads a run whose key matches instead of training it
 * again; training is deterministic, so the resumed job ends with the results it would have had
 * (bitwise when it runs at the same --threads: the thread count is not part of the key).
 * The cache is removed when the job finishes.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { datasetHash } from '../data/hash.js';
import { Network } from '../train/network.js';
import type { EpochEvent } from '../train/trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256Hex } from '../util/hash.js';
import { CACHE_DIR } from './cache-dir.js';

export { CACHE_DIR };
/** Bump when what a cached run means changes (the files or the training code's results). */
const CACHE_VERSION = 1;

export interface CachedRun {
  lr: number;
  history: EpochEvent[];
  seconds: number;
  /** Notes the run added (a retry at a lower lr), shown again when it is loaded. */
  notes: string[];
}

export class FitCache {
  readonly dir: string;
  private readonly dataHashes = new WeakMap<Dataset, string>();
  private readonly arrayHashes = new WeakMap<Float32Array, string>();

  /** `resume`: load matching runs; either way, finished runs are saved. */
  constructor(
    out: string,
    readonly resume: boolean,
  ) {
    this.dir = join(out, CACHE_DIR);
  }

  private hashData(ds: Dataset): string {
    let h = this.dataHashes.get(ds);
    if (!h) this.dataHashes.set(ds, (h = datasetHash(ds)));
    return h;
  }

  private hashArray(a: Float32Array): string {
    let h = this.arrayHashes.get(a);
    if (!h) this.arrayHashes.set(a, (h = sha256Hex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))));
    return h;
  }

  /** The key of a training run: a hash of everything that determines its result. */
  key(run: { label: string; spec: string; config: unknown; options: unknown; data: Dataset; test: Dataset; evalSets?: Dataset[]; teacher?: Float32Array; online?: string }): string {
    return sha256Hex(
      JSON.stringify({
        v: CACHE_VERSION,
        label: run.label,
        spec: run.spec,
        config: run.config,
        options: run.options,
        data: this.hashData(run.data),
        test: this.hashData(run.test),
        evalSets: (run.evalSets ?? []).map((d) => this.hashData(d)),
        teacher: run.teacher ? this.hashArray(run.teacher) : null,
        ...(run.online ? { online: run.online } : {}),
      }),
    );
  }

  /** The run saved under `key`, when resuming and both of its files are there and readable. */
  load(key: string): { net: Network; run: CachedRun } | undefined {
    if (!this.resume) return undefined;
    const onnx = join(this.dir, `${key}.onnx`);
    const json = join(this.dir, `${key}.json`);
    if (!existsSync(onnx) || !existsSync(json)) return undefined;
    try {
      const run = JSON.parse(readFileSync(json, 'utf8')) as CachedRun;
      if (!(run.lr > 0) || !Array.isArray(run.history) || run.history.length === 0 || !Array.isArray(run.notes)) return undefined;
      return { net: Network.fromOnnx(readFileSync(onnx), onnx), run };
    } catch {
      return undefined; // unreadable: train it again
    }
  }

  /** Save a finished run (the network, or its .onnx bytes): the weights first, then the history that marks it complete. */
  save(key: string, net: Network | Uint8Array, run: CachedRun): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(join(this.dir, `${key}.onnx`), net instanceof Uint8Array ? net : net.toOnnx());
    const { lr, history, seconds, notes } = run;
    writeFileAtomic(join(this.dir, `${key}.json`), JSON.stringify({ lr, history, seconds, notes } satisfies CachedRun));
  }

  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
