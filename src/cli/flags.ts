/**
 * The flags that set the library's parameters: errors about a parameter (UsageError with a
 * ParamProblem, src/util/errors.ts) are worded by the library in its own terms and re-worded
 * here, in one place, with the flag a CLI user typed.
 */
import { type ParamProblem, describeProblem } from '../util/errors.js';

export const PARAM_FLAGS: Readonly<Record<string, string>> = {
  'checkpoint.dir': '--resume',
  teachers: '--teacher',
  'train.loss': '--loss',
  onlyClasses: '--only-classes',
  omitClasses: '--omit-classes',
  fraction: '--fraction',
  outDir: '--out',
  force: '--force',
  specialistsDir: '--specialists',
  topN: '--top-n',
  'options.batchNorm': '--batchnorm',
};

/** A parameter problem in flag names (parameters without a flag keep their API names). */
export function describeForCli(p: ParamProblem): string {
  return describeProblem(p, (param) => PARAM_FLAGS[param] ?? param);
}
