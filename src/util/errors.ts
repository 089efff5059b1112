/**
 * Errors the CLI maps to exit codes. Anything caused by what the user gave us (files, flags,
 * configs, shapes) is a UsageError: exit code 2 and a one-line message naming the thing.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A non-finite loss or weight during training: exit code 3. */
export class DivergenceError extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'DivergenceError';
  }
}
