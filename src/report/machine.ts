import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { MachineInfo } from './schema.js';

/**
 * The machine a run happened on. The onnxruntime version is read from the installed package's
 * package.json (the runtime module stays the only importer of onnxruntime-node); pass it to
 * override, e.g. from a live session.
 */
export function collectMachineInfo(onnxruntimeVersion?: string): MachineInfo {
  const list = cpus();
  return {
    cpuModel: (list[0]?.model ?? 'unknown').trim() || 'unknown',
    cores: Math.max(1, list.length),
    memoryBytes: totalmem(),
    node: process.version,
    onnxruntime: onnxruntimeVersion ?? installedVersion('onnxruntime-node'),
    os: `${platform()} ${release()} ${arch()}`,
  };
}

function installedVersion(pkg: string): string {
  try {
    const require = createRequire(import.meta.url);
    let dir = require.resolve(pkg);
    // Walk up from the entry point to the package root (exports may hide package.json).
    for (let i = 0; i < 6; i++) {
      dir = dirname(dir);
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (meta.name === pkg && meta.version) return meta.version;
      } catch {
        /* keep walking */
      }
    }
  } catch {
    /* not installed */
  }
  return 'unknown';
}
