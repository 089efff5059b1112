/**
 * A full disk, simulated for the reliability tests (never loaded by the product): preloaded with
 * `node --import`, it makes writeSync on any file whose name contains $DK_TEST_FULL_DISK write
 * half of what it is given and then fail with ENOSPC, as a disk that fills up mid-write does.
 * Worker threads inherit the preload (execArgv), so writes made inside jobs fail too.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';

const match = process.env.DK_TEST_FULL_DISK;
if (match !== undefined) {
  const full = new Set<number>();
  const realOpen = fs.openSync;
  const realWrite = fs.writeSync;
  const realClose = fs.closeSync;
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (realOpen as (...a: unknown[]) => number)(path, ...rest);
    if (basename(String(path)).includes(match)) full.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.closeSync = ((fd: number) => {
    full.delete(fd);
    realClose(fd);
  }) as typeof fs.closeSync;
  fs.writeSync = ((fd: number, buf: Uint8Array, offset?: number, length?: number, ...rest: unknown[]) => {
    if (!full.has(fd) || typeof buf === 'string') return (realWrite as (...a: unknown[]) => number)(fd, buf, offset, length, ...rest);
    const off = offset ?? 0;
    const len = length ?? buf.byteLength - off;
    if (len > 1) (realWrite as (...a: unknown[]) => number)(fd, buf, off, len >> 1);
    full.delete(fd); // the disk is full now: the one failure, as the writer meets it
    const e = new Error(`ENOSPC: no space left on device, write`) as NodeJS.ErrnoException;
    e.code = 'ENOSPC';
    e.errno = -28;
    e.syscall = 'write';
    throw e;
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
}
