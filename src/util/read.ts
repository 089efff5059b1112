import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/**
 * Read a file the user named; a failure is a one-line UsageError `<label>: cannot read (<code>)`,
 * where label names what the file is and its path (e.g. `--model s.onnx` from the CLI), or is the
 * library parameter and its value, which the CLI words as its flag.
 */
export function readUserFile(label: string | { param: string; value: string }, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const detail = `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    throw new UsageError(typeof label === 'string' ? `${label}: ${detail}` : { ...label, detail });
  }
}
