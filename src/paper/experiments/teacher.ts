/** §3's teacher: the big regularised net everything else distils from, and its outputs. */
import { logSoftmaxRows } from '../../distill/targets.js';
import { DEFAULT_OPTIM } from '../../optim/optimizers.js';
import type { Fitted, PaperSession } from '../session.js';

export interface Teacher {
  fitted: Fitted;
  /** results.json's description of the teacher. */
  description: string;
  trainLogits: Float32Array;
  testLogits: Float32Array;
  /** Log-probabilities on the training set, by example id: the soft targets the students learn. */
  soft: Float32Array;
}

/** A regularisation recipe in words (the teacher's, an ensemble member's). */
export const recipe = (r: { dropout: number; inputDropout: number; jitter: number }, maxNorm: number): string =>
  `dropout ${r.inputDropout} input / ${r.dropout} hidden, max-norm ${maxNorm}, jitter ±${r.jitter} px`;

export async function teacherExperiment(s: PaperSession): Promise<Teacher> {
  const T = s.P.teacher;
  const { train, test, C } = s.data;
  const fitted = await s.timed('teacher', () =>
    s.fit('teacher', T.spec, train, s.baseCfg(T.epochs, { lr: T.lr, jitter: T.jitter, optim: { ...DEFAULT_OPTIM, maxNorm: T.maxNorm } }), {
      options: { dropout: T.dropout, inputDropout: T.inputDropout },
      warmup: false,
    }),
  );
  s.log(`teacher: ${fitted.test.errors} test errors`);
  const trainLogits = await s.logits(fitted.net, train);
  const testLogits = await s.logits(fitted.net, test);
  const soft = logSoftmaxRows(trainLogits, train.n, C, new Float32Array(train.n * C));
  return { fitted, description: `${recipe(T, T.maxNorm)}, ${T.epochs} epochs`, trainLogits, testLogits, soft };
}
