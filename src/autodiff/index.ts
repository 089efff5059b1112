export { backward, unbroadcast, NoGradientRuleError, type GradCtx, type GradRule, type GradOptions, type BackwardOptions } from './walker.js';
export { GRAD_RULES } from './rules.js';
export { ATTR_LIMITS, UnsupportedAttributeError, checkGradAttrs } from './attrs.js';
