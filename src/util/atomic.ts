import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync, existsSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './errors.js';

let counter = 0;

/** Temporary files are named `.<target>.<pid>.<tag>.tmp` next to their target. */
const TMP_RE = /^\.(.+)\.(\d+)\.(\w+)\.tmp$/;

/**
 * Errors a write can meet that are the machine's or the user's doing, not a bug: they become a
 * UsageError (exit code 2) naming the file. Anything else is rethrown as it is.
 */
const USER_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'directory does not exist',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EIO: 'I/O error',
};

/** fsync a directory so a rename in it survives a power loss (best effort: not every system allows it). */
function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    /* not supported here (e.g. some network file systems); the rename is still atomic */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Write a file atomically: write a temporary file in the same directory, fsync it, rename it
 * over the target, fsync the directory. A reader (or a crash, even SIGKILL) sees either the old
 * file or the new one, never a half-written one; an existing file is never truncated in place.
 * The temporary file is removed if anything fails. A failure the user can act on (full disk,
 * permissions, missing directory) is a UsageError naming the file; the old file is unchanged.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx');
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    fsyncDir(dirname(path));
  } catch (e) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    if (existsSync(tmp)) {
      try {
        unlinkSync(tmp);
      } catch {
        /* best effort */
      }
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code && code in USER_CODES) {
      throw new UsageError(`cannot write ${path}: ${USER_CODES[code]} (${code})${existsSync(path) ? '; the existing file is unchanged' : ''}`);
    }
    throw e;
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temporary files left in `dir` by writers that were killed mid-write (SIGKILL leaves
 * no chance to clean up): `.<name>.<pid>.<n>.tmp` whose process is gone. Returns their names.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (!m || pidAlive(Number(m[2]))) continue;
    try {
      unlinkSync(join(dir, n));
      removed.push(n);
    } catch {
      /* someone else removed it */
    }
  }
  return removed;
}
