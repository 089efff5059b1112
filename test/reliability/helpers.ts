/** Shared helpers of the reliability tests: running `dk` as a child process with a timeout, small data. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Network } from '../../src/train/network.js';

export const DK = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface DkResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Run a node script (by default `dk`) with a hard timeout (SIGKILL): a hang shows as timedOut. */
export function runNode(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; script?: string; nodeArgs?: string[] } = {}): Promise<DkResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script ?? DK, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** The test-only preload that simulates a full disk (./full-disk.ts). */
const FULL_DISK = new URL('./full-disk.js', import.meta.url).href;

/**
 * Run `dk`. `fullDisk`: writes to files whose name contains this string fail half-way with
 * ENOSPC (a simulated full disk, preloaded by the test; the product has no such hook).
 */
export function dk(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; fullDisk?: string } = {}): Promise<DkResult> {
  const { fullDisk, ...rest } = opts;
  if (fullDisk === undefined) return runNode(args, rest);
  return runNode(args, { ...rest, nodeArgs: ['--import', FULL_DISK], env: { ...rest.env, DK_TEST_FULL_DISK: fullDisk } });
}

export function tempDir(prefix = 'dk-rel-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** All parameters and buffers of a network, concatenated (for bitwise comparisons). */
export function weightBytes(net: Network): Buffer {
  const parts: Buffer[] = [];
  for (const s of net.paramSpecs) {
    const v = net.params.get(s.name)!;
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  for (const s of net.bufferSpecs) {
    const v = net.buffers.get(s.name)!;
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return Buffer.concat(parts);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
