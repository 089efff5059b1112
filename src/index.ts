/**
 * dark-knowledge: Hinton's knowledge distillation for TypeScript — model compression and
 * specialist networks, trained as ONNX graphs on onnxruntime-node. Public API: re-exports only.
 */
export * from './graph/ir.js';
export { GraphBuilder, f } from './graph/builder.js';
export { toOnnxBytes, fromOnnxBytes } from './graph/onnx.js';
export { validateGraph } from './graph/validate.js';
export { backward, GRAD_RULES, NoGradientRuleError } from './autodiff/index.js';
export * from './nn/layers.js';
export { type ModelSpec, type ModelOptions, parseSpec, buildModel, modelInputShape } from './nn/spec.js';
export * from './optim/index.js';
export { Runner, StepRunner, type RuntimeOptions } from './runtime/session.js';
export { Network } from './train/network.js';
export { trainNetwork, DEFAULT_TRAIN, type TrainConfig, type TrainEvent, type TrainOptions, type TeacherTargets } from './train/trainer.js';
export { evaluateNetwork, networkLogits, summarise, argmaxRows, type EvalSummary } from './train/evaluate.js';
export { buildLoss, type LossKind } from './nn/losses.js';
export { distill, type DistillOptions, type DistillResult } from './distill/distill.js';
export * as distillation from './distill/index.js';
export * as data from './data/index.js';
export * as specialists from './specialists/index.js';
export * as report from './report/index.js';
export { runPaper } from './paper/run.js';
export { Rng } from './util/rng.js';
export { errorInterval, mcnemar, mcnemarP, wrongMask, type CountInterval, type McNemar } from './util/stats.js';
export { UsageError, DivergenceError } from './util/errors.js';
