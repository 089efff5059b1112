/**
 * Errors the CLI maps to exit codes. Anything caused by what the user gave us (files, flags,
 * configs, shapes) is a UsageError: exit code 2 and a one-line message naming the thing.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  /** The library parameter the error is about, when there is one (see ParamProblem). */
  readonly problem?: ParamProblem;
  constructor(message: string | ParamProblem) {
    super(typeof message === 'string' ? message : describeProblem(message));
    if (typeof message !== 'string') this.problem = message;
    this.name = 'UsageError';
  }
}

/**
 * A bad value of a named parameter of the library API — `param` as the API spells it (e.g.
 * 'omitClasses', 'checkpoint.dir'), its value, and what is wrong. `{name}` in `detail` refers to
 * another parameter. The library's message names the parameters as the API does; the CLI names
 * them by the flags that set them (src/cli/flags.ts), so library code never words errors as flags.
 */
export interface ParamProblem {
  /** The parameter the message is about (absent: the detail names its subject, e.g. a file). */
  param?: string;
  value?: string;
  detail: string;
}

/** The message for a parameter problem, each parameter named by `name` (default: as the API spells it). */
export function describeProblem(p: ParamProblem, name: (param: string) => string = (q) => q): string {
  const detail = p.detail.replace(/\{([A-Za-z.]+)\}/g, (_m, q: string) => name(q));
  const subject = [p.param === undefined ? undefined : name(p.param), p.value].filter((s) => s !== undefined).join(' ');
  return subject ? `${subject}: ${detail}` : detail;
}

/** A non-finite loss or weight during training: exit code 3. */
export class DivergenceError extends Error {
  readonly exitCode = 3;
  /** What happened in words for a report reader (no step counters or factors); the message otherwise. */
  readonly plain: string;
  constructor(message: string, plain?: string) {
    super(message);
    this.name = 'DivergenceError';
    this.plain = plain ?? message;
  }
}
