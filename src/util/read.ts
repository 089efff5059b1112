import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/**
 * Read a file the user named; a failure is a one-line UsageError `<label>: cannot read (<code>)`,
 * where label names the flag and path, e.g. `--model s.onnx`.
 */
export function readUserFile(label: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${label}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
