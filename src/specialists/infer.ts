/**
 * The combination at inference (Hinton, Vinyals & Dean 2015, section 5.4) on a dataset:
 *
 * 1. the generalist's probabilities p_g (softmax of its logits, T = 1) for every example;
 * 2. the active specialists: those whose group holds one of the generalist's top-n classes.
 *    The paper used n = 1 ("we find the n most probable classes according to the generalist
 *    model … In our experiments, we used n = 1"). We default to n = 2: with n = 1 a specialist
 *    only speaks where the generalist's first choice is already in its group, so it can never
 *    rescue an example whose right class is the generalist's runner-up in another group; the
 *    KL term to p_g keeps extra specialists from doing harm where they know little. Measured
 *    on held-out validation splits (never the test sets): MNIST with an mlp:30 generalist,
 *    330 errors → 293 (n = 1) / 286 (n = 2); two-digit MNIST numbers (100 classes, mlp:64),
 *    1390 → 1351 / 1318 (specialists from the fitted dustbin start). The cost is at most twice
 *    the specialist evaluations. `topN = 1` (`--top-n 1`) gives the paper's setting;
 * 3. each active specialist's probabilities over its group + dustbin (softmax of its logits,
 *    whose dustbin bias was raised at training time);
 * 4. q = argmin KL(p_g‖q) + Σ_m KL(p_m‖q_m) per example ({@link combine}, EM solver), q = p_g
 *    where no specialist is active;
 * 5. the Table-4 evaluation: accuracy of argmax p_g vs argmax q, and the breakdown by the
 *    number of active specialists whose group covers the true class.
 */
import type { Dataset } from '../data/dataset.js';
import { featureSize } from '../data/dataset.js';
import { argmaxRows, networkLogits } from '../train/evaluate.js';
import { Network } from '../train/network.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { UsageError } from '../util/errors.js';
import { type CombineOptions, type SpecialistPredictions, activeSpecialists, combineDetailed } from './combine.js';
import { softmaxRows } from '../util/softmax.js';
import { type SpecialistEvaluation, coveringCounts, evaluateCombination } from './evaluate.js';
import { readSpecialistsDir } from './files.js';
import type { SpecialistEntry, SpecialistsManifest } from './manifest.js';

/** Default n of the generalist's top-n classes that activate specialists (see the top of this file). */
export const DEFAULT_TOP_N = 2;

export interface LoadedSpecialist {
  entry: SpecialistEntry;
  network: Network;
}

export interface LoadedSpecialists {
  manifest: SpecialistsManifest;
  specialists: LoadedSpecialist[];
}

/**
 * Load a specialists directory for `generalist` (its .onnx bytes and network): the manifest
 * must match the generalist (class count, sha256), each file its sha256, and each specialist
 * must output |G|+1 classes for the generalist's input shape. UsageError otherwise.
 */
export function loadSpecialists(dir: string, generalist: { bytes: Uint8Array; network: Network; name?: string }): LoadedSpecialists {
  const g = generalist.network;
  const { manifest, files } = readSpecialistsDir(dir, { bytes: generalist.bytes, classes: g.spec.classes, name: generalist.name });
  const specialists = manifest.specialists.map((entry, i) => {
    const network = Network.fromOnnx(files[i], `${dir}/${entry.file}`);
    const K = entry.group.length + 1;
    if (network.spec.classes !== K) {
      throw new UsageError(`${dir}/${entry.file}: outputs ${network.spec.classes} classes, but its manifest group [${entry.group.join(', ')}] needs ${K} (group + dustbin)`);
    }
    if (network.spec.inputShape.join(',') !== g.spec.inputShape.join(',')) {
      throw new UsageError(`${dir}/${entry.file}: takes input [${network.spec.inputShape}], but the generalist takes [${g.spec.inputShape}]`);
    }
    return { entry, network };
  });
  return { manifest, specialists };
}

export interface EvaluateSpecialistsOptions {
  generalist: Network;
  specialists: readonly LoadedSpecialist[];
  data: Dataset;
  /** Generalist's top-n classes that activate specialists; default {@link DEFAULT_TOP_N}. */
  topN?: number;
  runtime?: RuntimeOptions;
  combine?: CombineOptions;
}

export interface SpecialistsOutcome {
  /** The Table-4 evaluation (the JSON `dk eval --specialists --json` prints). */
  evaluation: SpecialistEvaluation;
  /** Examples on which each specialist was active. */
  activeCounts: number[];
  /** Examples with at least one active specialist. */
  examplesWithActive: number;
  /** Examples whose solver hit its iteration cap. */
  unconverged: number;
  /** n×C combined distributions. */
  q: Float64Array;
  generalistPred: Int32Array;
  combinedPred: Int32Array;
}

/** Rows of x (n×D) listed in `rows`, packed. */
function gatherRows(x: Float32Array, D: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * D);
  rows.forEach((r, j) => out.set(x.subarray(r * D, r * D + D), j * D));
  return out;
}

/** Run the generalist and the specialists on `data`, combine, and evaluate (see the top of this file). */
export async function evaluateSpecialists(o: EvaluateSpecialistsOptions): Promise<SpecialistsOutcome> {
  const g = o.generalist;
  const C = g.spec.classes;
  const ds = o.data;
  if (ds.classes > C) throw new UsageError(`the generalist outputs ${C} classes but the data has ${ds.classes}`);
  const topN = o.topN ?? DEFAULT_TOP_N;
  if (!Number.isInteger(topN) || topN < 1 || topN > C) throw new UsageError({ param: 'topN', detail: `must be an integer in [1, ${C}], got ${topN}` });
  const n = ds.n;
  const gLogits = await networkLogits(g, ds, o.runtime);
  const pg = softmaxRows(gLogits, n, C);
  const groups = o.specialists.map((s) => s.entry.group);
  const M = groups.length;
  const active = activeSpecialists(pg, C, groups, topN);

  // Each specialist runs only on the examples where it is active.
  const D = featureSize(ds);
  const preds: SpecialistPredictions[] = [];
  const activeCounts: number[] = [];
  for (let m = 0; m < M; m++) {
    const K = groups[m].length + 1;
    const rowsList: number[] = [];
    for (let i = 0; i < n; i++) if (active[i * M + m]) rowsList.push(i);
    const rows = Int32Array.from(rowsList);
    activeCounts.push(rows.length);
    const probs = new Float64Array(n * K);
    if (rows.length > 0) {
      const sub: Dataset = { x: gatherRows(ds.x, D, rows), y: new Int32Array(rows.length), n: rows.length, shape: ds.shape, classes: K, source: ds.source };
      const p = softmaxRows(await networkLogits(o.specialists[m].network, sub, o.runtime), rows.length, K);
      rows.forEach((r, j) => probs.set(p.subarray(j * K, j * K + K), r * K));
    }
    preds.push({ group: groups[m], probs });
  }
  const res = combineDetailed(pg, C, preds, active, o.combine);

  const generalistPred = argmaxRows(gLogits, n, C);
  const qPred = argmaxRows(res.q, n, C);
  const combinedPred = new Int32Array(n);
  let examplesWithActive = 0;
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let m = 0; m < M && !any; m++) any = active[i * M + m] === 1;
    if (any) examplesWithActive++;
    // Where no specialist is active q = p_g: keep the generalist's own argmax (identical to dk eval).
    combinedPred[i] = any ? qPred[i] : generalistPred[i];
  }
  const covering = coveringCounts(ds.y, active, groups);
  const evaluation = evaluateCombination(ds.y, generalistPred, combinedPred, covering);
  return { evaluation, activeCounts, examplesWithActive, unconverged: res.unconverged, q: res.q, generalistPred, combinedPred };
}
