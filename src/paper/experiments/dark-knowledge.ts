/** The dark knowledge itself: a few test digits' teacher distributions at several temperatures, and the teacher's class-similarity matrix. */
import type { Dataset } from '../../data/dataset.js';
import type { Results } from '../../report/schema.js';
import { softmaxT } from '../helpers.js';

const TEMPERATURES = [1, 2, 5, 20];
/** The classes shown, one example each. */
const WANTED = [2, 3, 4, 7, 8, 9];
/** T of the similarity matrix. */
const SIM_T = 20;

/** `teacherTestLogits`: the teacher's logits on `test`, C per row. */
export function darkKnowledgeOf(teacherTestLogits: Float32Array, test: Dataset, C: number): Results['darkKnowledge'] {
  const pick = pickExamples(teacherTestLogits, test, C);
  const sim = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const counts = new Array<number>(C).fill(0);
  for (let i = 0; i < test.n; i++) {
    const p = softmaxT(teacherTestLogits, i * C, C, SIM_T);
    counts[test.y[i]]++;
    for (let k = 0; k < C; k++) sim[test.y[i]][k] += p[k];
  }
  const D = test.shape.reduce((x, y) => x * y, 1);
  const side = Math.round(Math.sqrt(D));
  return {
    classNames: Array.from({ length: C }, (_, k) => String(k)),
    temperatures: TEMPERATURES,
    examples: pick.map((i) => ({
      testIndex: i,
      label: test.y[i],
      image: Array.from({ length: side }, (_, r) => Array.from({ length: side }, (_, c) => Math.round(255 * test.x[i * D + r * side + c]))),
      probs: TEMPERATURES.map((t) => ({ T: t, p: softmaxT(teacherTestLogits, i * C, C, t) })),
    })),
    similarity: {
      T: SIM_T,
      matrix: sim.map((row, i) => row.map((v) => v / Math.max(1, counts[i]))),
      definition: `row i, column j: the teacher's mean probability of class j at T=${SIM_T} over the test examples of class i`,
    },
  };
}

/**
 * Deterministic choice: for each wanted class, the correctly classified test example whose
 * teacher distribution at T=1 has the most mass outside the top class (below one half).
 */
function pickExamples(z: Float32Array, test: Dataset, C: number): number[] {
  const pick: number[] = [];
  for (const cls of WANTED) {
    let best = -1;
    let bestMass = -1;
    for (let i = 0; i < test.n; i++) {
      if (test.y[i] !== cls) continue;
      const p = softmaxT(z, i * C, C, 1);
      const top = p.indexOf(Math.max(...p));
      if (top !== cls) continue;
      const mass = 1 - p[top];
      if (mass > bestMass && mass < 0.5) {
        bestMass = mass;
        best = i;
      }
    }
    if (best >= 0) pick.push(best);
  }
  return pick;
}
