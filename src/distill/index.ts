/**
 * Distillation (Hinton, Vinyals & Dean 2015): tempered targets, losses, ONNX teachers and
 * ensembles, the teacher-output cache, transfer-set control, bias adjustment, and `distill()`.
 */
export { distill, type DistillOptions, type DistillResult } from './distill.js';
export { buildLoss, softCrossEntropy, validateLossKind, LOSS_KINDS, type LossKind, type LossGraph } from '../nn/losses.js';
export {
  LOG_PROB_FLOOR,
  PROB_SUM_TOL,
  detectTeacherKind,
  logProbsFromProbs,
  logSoftmaxRows,
  temperedFromLogits,
  temperedFromProbs,
  toLogProbs,
  type KindDetection,
  type TeacherKind,
} from './targets.js';
export {
  OnnxTeacher,
  combineTeachers,
  foreignLogProbs,
  isForeignModel,
  readTeacherFile,
  teacherHash,
  validateEnsembleMode,
  validateTeacherOutputs,
  ENSEMBLE_MODES,
  TEACHER_OUTPUTS,
  TEACHER_LAYOUTS,
  type TeacherLayout,
  type TeacherPrep,
  type TeacherLoadOptions,
  type ExternalData,
  type EnsembleMode,
  type TeacherOutputs,
  type TeacherSource,
  type TeacherExpectation,
} from './teacher.js';
export {
  teacherTargets,
  gatherRows,
  cacheKey,
  encodeCache,
  decodeCache,
  DEFAULT_CACHE_DIR,
  type TeacherSpec,
  type TeacherTargetsOptions,
  type TeacherTargetsResult,
} from './cache.js';
export { prepareRows, resolveLayout, resolveNormalisation, channelsOf, type PrepNames, type ResolvedPrep } from './preprocess.js';
export { transferSet, type TransferOptions, type TransferSet } from './transfer.js';
export { pickBiasOffset, errorsWithOffset, biasGrid, holdoutSplit, withBiasOffset, type BiasPick } from './bias.js';
