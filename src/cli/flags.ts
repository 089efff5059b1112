/**
 * The flags that set the library's parameters: errors about a parameter (UsageError with a
 * ParamProblem, src/util/errors.ts) are worded by the library in its own terms and re-worded
 * here, in one place, with the flag a CLI user typed.
 */
import { type ParamProblem, describeProblem } from '../util/errors.js';

export const PARAM_FLAGS: Readonly<Record<string, string>> = {
  'checkpoint.dir': '--resume',
  teachers: '--teacher',
  onlyClasses: '--only-classes',
  omitClasses: '--omit-classes',
  fraction: '--fraction',
  outDir: '--out',
  force: '--force',
  specialistsDir: '--specialists',
  topN: '--top-n',
  teacher: '--teacher',
  teacherOutputs: '--teacher-outputs',
  ensemble: '--ensemble',
  teacherMode: '--teacher-mode',
  'runtime.replicas': '--replicas',
  'train.loss': '--loss',
  'train.mix': '--mix',
  'train.alpha': '--alpha',
  'transfer.omitClasses': '--omit-classes',
  'transfer.onlyClasses': '--only-classes',
  'transfer.holdout': '--holdout',
  transferData: '--transfer',
  'images.size': '--image-size',
  'images.channels': '--channels',
  studentLayout: '--layout',
  'teacher.mean': '--teacher-mean',
  'teacher.std': '--teacher-std',
  'teacher.layout': '--teacher-layout',
  'teacher.output': '--teacher-output',
  model: '--model',
  compare: '--compare',
  'model.mean': '--mean',
  'model.std': '--std',
  'model.layout': '--layout',
  'model.output': '--output',
  'options.batchNorm': '--batchnorm',
  redis: '--redis',
  groupSearch: '--group-search',
  groupsPerRun: '--groups',
  strength: '--strength',
  minSize: '--min-size',
  maxSize: '--max-size',
  levels: '--levels',
  runs: '--runs',
  dir: '--dir',
  port: '--port',
};

/** A parameter problem in flag names (parameters without a flag keep their API names). */
export function describeForCli(p: ParamProblem): string {
  return describeProblem(p, (param) => PARAM_FLAGS[param] ?? param);
}
