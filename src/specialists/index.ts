/**
 * Specialist networks (Hinton, Vinyals & Dean 2015, section 5): confusable groups from the
 * generalist's class covariance, folding onto group + dustbin, the dustbin bias and enriched
 * sampling, KL combination at inference, Table-4 evaluation and the specialists manifest;
 * specialist models and their training (in parallel worker threads), the pipeline from a
 * generalist to a directory of specialists, and the combined evaluation on a dataset.
 */
export {
  type SoftOutputsInput,
  type ConfusableGroupsOptions,
  type KMeansOutcome,
  type GroupConfusion,
  softenProbs,
  softOutputs,
  classCovariance,
  kmeansPlusPlus,
  kmeansSeeded,
  compareGroups,
  confusableGroups,
  findConfusableGroups,
  confusionMatrix,
  groupConfusions,
  formatGroupConfusions,
} from './confusability.js';
export {
  type GroupSearch,
  type GroupSearchOptions,
  type RobustGroupsOptions,
  GROUP_SEARCHES,
  DEFAULT_GROUP_SEARCH,
  DEFAULT_STRENGTH,
  softConfusionRates,
  robustGroups,
  robustGroupsFromSimilarity,
  searchGroups,
} from './group-search.js';
export { type CandidateVerdict, type HeldOutChoice, chooseOnHoldout, combinationErrors } from './select.js';
/** The house's one softmax, argmax and log-probability floor (src/util/softmax.ts). */
export { LOG_PROB_FLOOR, argmaxRows, softmaxRows } from '../util/softmax.js';
export {
  type ClassMap,
  type SpecialistBatchOptions,
  classMap,
  foldProbs,
  foldLabels,
  groupFraction,
  oversamplingFactor,
  dustbinLogBias,
  applyDustbinBias,
  specialistBatches,
  specialistBatchesPerEpoch,
} from './fold.js';
export {
  type SpecialistPredictions,
  type KLTerm,
  type CombineOptions,
  type CombineResult,
  type ExampleResult,
  activeSpecialists,
  combine,
  combineDetailed,
  combineExample,
  combinationObjective,
  combinationGradient,
  emStep,
} from './combine.js';
export {
  type AccuracySummary,
  type CoverageRow,
  type SpecialistEvaluation,
  coveringCounts,
  evaluateCombination,
} from './evaluate.js';
export {
  type SpecialistEntry,
  type SpecialistsManifest,
  MANIFEST_VERSION,
  sha256Hex,
  validateManifest,
  parseManifest,
  checkManifestMatchesGeneralist,
  checkSpecialistFile,
  specialistEntry,
} from './manifest.js';
export { type DustbinInit, type DustbinReadout, DUSTBIN_INITS, fitDustbinReadout, meanDustbinReadout } from './dustbin.js';
export {
  type SpecialistTrainOptions,
  type TrainedSpecialist,
  specialistNetwork,
  foldedLogProbs,
  foldedDataset,
  enrichedSampler,
  trainSpecialist,
} from './train.js';
export {
  type SpecialistJobArgs,
  type SpecialistJobResult,
  type TrainSpecialistsOptions,
  specialistSeed,
  threadsPerWorker,
  trainSpecialists,
} from './workers.js';
export { type BuildSpecialistsOptions, type BuiltSpecialists, buildSpecialists, specialistFileName } from './pipeline.js';
export { type SpecialistsDir, MANIFEST_FILE, checkOutDir, writeSpecialistsDir, readSpecialistsDir } from './files.js';
export {
  type LoadedSpecialist,
  type LoadedSpecialists,
  type EvaluateSpecialistsOptions,
  type SpecialistsOutcome,
  DEFAULT_TOP_N,
  loadSpecialists,
  evaluateSpecialists,
} from './infer.js';
