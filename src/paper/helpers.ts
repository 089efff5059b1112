/** Small numeric helpers for the paper experiments (plain TypeScript over n × C arrays). */
import { DivergenceError } from '../util/errors.js';
import { softmaxRows } from '../util/softmax.js';

/** softmax(z/T) for the row of C values at `off`, as plain numbers ({@link softmaxRows}, T applied first). */
export function softmaxT(z: Float32Array, off: number, C: number, T: number): number[] {
  return Array.from(softmaxRows(z.subarray(off, off + C), 1, C, { temperature: T }));
}

/** Errors of argmax(z + bias) against labels, overall and on the rows whose label is in `focus`. */
export function errorsWithBias(z: Float32Array, labels: Int32Array, C: number, bias: Map<number, number>, focus?: Set<number>): { errors: number; focusErrors: number; focusCount: number } {
  let errors = 0;
  let focusErrors = 0;
  let focusCount = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let k = 0; k < C; k++) {
      const v = z[i * C + k] + (bias.get(k) ?? 0);
      if (v > bv) {
        bv = v;
        best = k;
      }
    }
    const wrong = best !== labels[i];
    if (wrong) errors++;
    if (focus?.has(labels[i])) {
      focusCount++;
      if (wrong) focusErrors++;
    }
  }
  return { errors, focusErrors, focusCount };
}

/**
 * Train at `lr`; if the loss diverges (a DivergenceError: non-finite, or exploded past the
 * trainer's factor), report it through `onRetry` and train once more from scratch at half the
 * rate. A second divergence, or any other error, propagates. The paper job runs a dozen students
 * in an hour: one that blows up should cost its own minutes, named in the results, not the run.
 */
export async function halveLrOnDivergence<T>(lr: number, train: (lr: number) => Promise<T>, onRetry: (e: DivergenceError, lr: number) => void): Promise<T> {
  try {
    return await train(lr);
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    onRetry(e, lr / 2);
    return train(lr / 2);
  }
}
