/** Output-path checks shared by every command that writes files. */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';

/** Refuse to overwrite an existing file without --force, and a missing parent directory. */
export function checkOutFile(path: string, force: boolean, flag = 'out'): string {
  const p = resolve(path);
  if (existsSync(p)) {
    if (statSync(p).isDirectory()) throw new UsageError(`--${flag} ${path}: is a directory, expected a file path`);
    if (!force) throw new UsageError(`--${flag} ${path}: file exists; pass --force to replace it`);
  }
  const dir = dirname(p);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: directory ${dir} does not exist`);
  return p;
}
