/**
 * The specialists directory: `manifest.json` plus one `.onnx` file per specialist.
 *
 * Written atomically as a whole: everything goes into a fresh temporary directory next to the
 * target (each file fsynced), which is then renamed into place, so a reader (or a crash) sees
 * the old directory or the complete new one, never a manifest without its files. An existing
 * non-empty directory is replaced only with `force` (it is renamed aside first and removed once
 * the new one is in place).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkOutDir, writeDirAtomic } from '../util/out-dir.js';
import { UsageError } from '../util/errors.js';
import { type SpecialistsManifest, checkManifestMatchesGeneralist, checkSpecialistFile, parseManifest, sha256Hex, validateManifest } from './manifest.js';

export const MANIFEST_FILE = 'manifest.json';

export { checkOutDir } from '../util/out-dir.js';

/**
 * Write manifest + specialist files into `dir` atomically (see the top of this file); `extras`
 * (e.g. selection.json of --holdout) are written into the same temporary directory.
 */
export function writeSpecialistsDir(
  dir: string,
  manifest: SpecialistsManifest,
  files: readonly { name: string; bytes: Uint8Array }[],
  force = false,
  extras: readonly { name: string; text: string }[] = [],
): string {
  const target = checkOutDir(dir, force);
  validateManifest(manifest, 'manifest to write');
  const listed = new Set(manifest.specialists.map((s) => s.file));
  for (const f of files) if (!listed.has(f.name)) throw new RangeError(`writeSpecialistsDir: ${f.name} is not listed in the manifest`);
  for (const s of manifest.specialists) {
    const f = files.find((x) => x.name === s.file);
    if (!f) throw new RangeError(`writeSpecialistsDir: no bytes for ${s.file}`);
    if (sha256Hex(f.bytes) !== s.sha256) throw new RangeError(`writeSpecialistsDir: ${s.file} does not hash to the manifest's sha256`);
  }
  for (const x of extras) {
    if (x.name === MANIFEST_FILE || listed.has(x.name) || basename(x.name) !== x.name) throw new RangeError(`writeSpecialistsDir: extra file name ${x.name} clashes or is not a plain name`);
  }
  return writeDirAtomic(
    target,
    [...files.map((f) => ({ name: f.name, data: f.bytes })), ...extras.map((x) => ({ name: x.name, data: x.text })), { name: MANIFEST_FILE, data: JSON.stringify(manifest, null, 2) + '\n' }],
    force,
  );
}

export interface SpecialistsDir {
  dir: string;
  manifest: SpecialistsManifest;
  /** Specialist file bytes, in manifest order, each checked against its sha256. */
  files: Uint8Array[];
}

/**
 * Read and check a specialists directory against the generalist it is meant for: the manifest
 * must validate, name the generalist's class count and file hash, and every specialist file
 * must hash to its manifest entry. UsageError (exit 2) otherwise, naming both values.
 */
export function readSpecialistsDir(dir: string, generalist: { bytes: Uint8Array; classes: number; name?: string }): SpecialistsDir {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError({ param: 'specialistsDir', value: dir, detail: 'not a directory' });
  const mpath = join(dir, MANIFEST_FILE);
  if (!existsSync(mpath)) throw new UsageError({ param: 'specialistsDir', value: dir, detail: `no ${MANIFEST_FILE} (write one with dk specialists)` });
  const manifest = parseManifest(readFileSync(mpath, 'utf8'), mpath);
  checkManifestMatchesGeneralist(manifest, { classes: generalist.classes, sha256: sha256Hex(generalist.bytes), name: generalist.name }, mpath);
  if (manifest.specialists.length === 0) throw new UsageError(`${mpath}: lists no specialists`);
  const files = manifest.specialists.map((s) => {
    const p = join(dir, s.file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(p);
    } catch (e) {
      throw new UsageError(`${mpath}: cannot read ${s.file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    checkSpecialistFile(s, sha256Hex(bytes), mpath);
    return bytes;
  });
  return { dir, manifest, files };
}

