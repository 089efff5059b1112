/**
 * Synthetic generalist outputs with planted confusable groups, for the specialists tests.
 * Examples of a class in a planted group put most of their mass on the group (split at
 * random among its members); examples of other classes are confident in their own class.
 * The leftover mass is spread at random over all other classes.
 */
import { Rng } from '../../src/util/rng.js';

export interface Synthetic {
  P: Float64Array;
  labels: Int32Array;
  n: number;
  C: number;
}

export function plantedOutputs(
  C: number,
  perClass: number,
  planted: number[][],
  seed: number,
  opts: { groupMass?: number; ownShare?: number; confident?: number } = {},
): Synthetic {
  const rng = new Rng(seed);
  const n = C * perClass;
  const P = new Float64Array(n * C);
  const labels = new Int32Array(n);
  const groupOf = new Map<number, number[]>();
  for (const g of planted) for (const c of g) groupOf.set(c, g);
  const groupMass = opts.groupMass ?? 0.9;
  const ownShare = opts.ownShare ?? 0.45;
  const confident = opts.confident ?? 0.93;
  const row = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const y = i % C;
    labels[i] = y;
    row.fill(0);
    const g = groupOf.get(y);
    let used: number[];
    if (g) {
      // Own class: ownShare..ownShare+0.15 of the group mass, the rest split at random.
      const own = groupMass * (ownShare + 0.15 * rng.float());
      row[y] = own;
      const others = g.filter((c) => c !== y);
      const w = others.map(() => 0.2 + rng.float());
      const ws = w.reduce((a, b) => a + b, 0);
      others.forEach((c, j) => (row[c] = ((groupMass - own) * w[j]) / ws));
      used = g;
    } else {
      row[y] = confident + (1 - confident) * 0.5 * rng.float();
      used = [y];
    }
    const rest = 1 - used.reduce((a, c) => a + row[c], 0);
    const free: number[] = [];
    for (let c = 0; c < C; c++) if (!used.includes(c)) free.push(c);
    const w = free.map(() => rng.float());
    const ws = w.reduce((a, b) => a + b, 0);
    free.forEach((c, j) => (row[c] = (rest * w[j]) / ws));
    P.set(row, i * C);
  }
  return { P, labels, n, C };
}
