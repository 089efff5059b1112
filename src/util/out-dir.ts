/**
 * Output directories written whole or not at all: everything goes into a fresh temporary
 * directory next to the target (each file written atomically and fsynced), which is then
 * renamed into place, so a reader (or a crash) sees the old directory or the complete new one,
 * never part of it. An existing non-empty directory is replaced only with `force` (it is
 * renamed aside first and removed once the new one is in place).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { UsageError } from './errors.js';

/**
 * Check that `dir` can be written: it does not exist, or is an empty directory, or `force`;
 * its parent exists. Returns the absolute path. UsageError otherwise (naming the parameter `param`).
 */
export function checkOutDir(dir: string, force: boolean, param = 'outDir'): string {
  const p = resolve(dir);
  if (existsSync(p)) {
    if (!statSync(p).isDirectory()) throw new UsageError({ param, value: dir, detail: 'is a file, expected a directory' });
    if (readdirSync(p).length > 0 && !force) throw new UsageError({ param, value: dir, detail: 'directory exists and is not empty; pass {force} to replace it' });
  }
  const parent = dirname(p);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new UsageError({ param, value: dir, detail: `parent directory ${parent} does not exist` });
  return p;
}

/**
 * Write `files` (plain names → bytes or text) as the directory `dir`, atomically as a whole (see
 * the top of this file). Returns the absolute path.
 */
export function writeDirAtomic(dir: string, files: readonly { name: string; data: Uint8Array | string }[], force = false, param = 'outDir'): string {
  const target = checkOutDir(dir, force, param);
  const names = new Set<string>();
  for (const f of files) {
    if (basename(f.name) !== f.name || f.name === '' || f.name === '.' || f.name === '..' || names.has(f.name)) throw new RangeError(`writeDirAtomic: file name '${f.name}' is not a plain name or appears twice`);
    names.add(f.name);
  }
  // mkdirSync (not mkdtempSync, which makes it 0700) so the directory gets the usual mode under the umask.
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  let aside: string | null = null;
  try {
    for (const f of files) writeFileAtomic(join(tmp, f.name), f.data);
    if (existsSync(target)) {
      if (readdirSync(target).length === 0) rmdirSync(target);
      else {
        aside = `${tmp}.old`;
        renameSync(target, aside);
      }
    }
    renameSync(tmp, target);
  } catch (e) {
    if (aside && !existsSync(target)) renameSync(aside, target);
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
  return target;
}
