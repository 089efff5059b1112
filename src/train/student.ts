/**
 * The student of a training run: a spec string (`mlp:…`, `cnn:…`, `linear`, see src/nn/spec.ts)
 * built and initialised from the seed, or an ONNX file (`…/student.onnx`, any exporter) trained
 * from the weights in it (src/nn/imported.ts). A file is checked before any training: it must fit
 * the data, and every node its gradient passes through must have a gradient rule that handles
 * its attributes — otherwise a UsageError naming the file, node, op and attribute.
 */
import { NoGradientRuleError, UnsupportedAttributeError } from '../autodiff/index.js';
import { type ModelOptions, isModelFile, modelInputShape } from '../nn/spec.js';
import { UsageError } from '../util/errors.js';
import { readUserFile } from '../util/read.js';
import { DEFAULT_TRAIN } from './config.js';
import { Network } from './network.js';
import { buildStepGraph } from './step.js';

export { isModelFile };

/** The model options that only spec strings take (an ONNX student's graph is as given). */
function specOptionsGiven(o: ModelOptions): string[] {
  const given: string[] = [];
  if (o.dropout) given.push('dropout');
  if (o.inputDropout) given.push('inputDropout');
  if (o.batchNorm) given.push('batchNorm');
  if (o.activation !== undefined && o.activation !== 'relu') given.push('activation');
  return given;
}

/**
 * Build the student `spec` for data of per-example shape `dataShape` with `classes` classes.
 * A spec string is initialised from `seed`; an ONNX file starts from its own weights.
 */
export function createStudent(spec: string, dataShape: number[], classes: number, options: ModelOptions, seed: number): Network {
  if (!isModelFile(spec)) return Network.create({ spec, inputShape: modelInputShape(spec, dataShape), classes, options }, seed);
  const file = spec.trim();
  const given = specOptionsGiven(options);
  if (given.length) throw new UsageError(`${file}: ${given.join(', ')} apply to built-in students only; an ONNX student trains the graph in the file as it is`);
  const net = Network.fromStudentFile(readUserFile(`student ${file}`, file), file);
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (size(dataShape) !== size(net.spec.inputShape)) throw new UsageError(`${file}: takes examples of shape [${net.spec.inputShape}] but the data has [${dataShape}]`);
  if (classes > net.spec.classes) throw new UsageError(`${file}: outputs ${net.spec.classes} classes but the data has ${classes}`);
  checkTrainable(net, file);
  return net;
}

/** Build the step graph once: a node without a gradient rule, or an attribute a rule does not handle, is a UsageError naming it. */
export function checkTrainable(net: Network, source: string): void {
  try {
    buildStepGraph(net, 'hard', DEFAULT_TRAIN.optim);
  } catch (e) {
    if (e instanceof NoGradientRuleError || e instanceof UnsupportedAttributeError) throw new UsageError(`${source}: cannot be trained: ${e.message}`);
    throw e;
  }
}
