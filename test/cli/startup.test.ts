/**
 * The command line starts without the engine: help, --version and flag errors load neither
 * onnxruntime, the ONNX protobuf code, the trainer nor k-means (they cost ~0.6 s per start);
 * jobs import them in their worker. Checked by recording every module Node resolves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DK, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('dk-startup-');
after(cleanup);
const HOOK = join(dir, 'record-resolve.mjs');
writeFileSync(
  HOOK,
  `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write("RESOLVED " + r.url + "\\\\n"); return r; }'));\n`,
);
const HEAVY = /onnxruntime-node|onnx-proto|ml-kmeans|\/runtime\/session\.js|\/train\/trainer\.js|\/graph\/onnx\.js/;

function resolved(script: string, args: string[]): { status: number | null; urls: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', HOOK, script, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const urls = r.stderr.split('\n').filter((l) => l.startsWith('RESOLVED ')).map((l) => l.slice(9));
  return { status: r.status, urls, stderr: r.stderr };
}

describe('dk start-up', () => {
  it('the recorder sees the engine when it is loaded (so the checks below can fail)', () => {
    const r = resolved(fileURLToPath(new URL('../../src/train/trainer.js', import.meta.url)), []);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.urls.some((u) => /onnxruntime-node/.test(u)), `onnxruntime-node not among ${r.urls.length} modules`);
    assert.ok(r.urls.some((u) => /\/runtime\/session\.js/.test(u)));
  });

  it('--version prints package.json\'s version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [DK, '--version'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  const cases: [string, string[], number][] = [
    ['--help', ['--help'], 0],
    ['--version', ['--version'], 0],
    ['train --help', ['train', '--help'], 0],
    ['distill --help', ['distill', '--help'], 0],
    ['specialists --help', ['specialists', '--help'], 0],
    ['eval --help', ['eval', '--help'], 0],
    ['paper --help', ['paper', '--help'], 0],
    ['report --help', ['report', '--help'], 0],
    ['data mnist-pairs --help', ['data', 'mnist-pairs', '--help'], 0],
    ['a bad data mnist-pairs size', ['data', 'mnist-pairs', '--out', 'p', '--train', '5'], 2],
    ['a bad flag value', ['train', '--model', 'mlp:8', '--out', 'x.onnx', '--lr', 'fast'], 2],
    ['an unknown command', ['distil'], 2],
  ];
  for (const [name, args, code] of cases) {
    it(`${name}: exit ${code}, no engine module loaded`, () => {
      const r = resolved(DK, args);
      assert.equal(r.status, code, r.stderr);
      assert.ok(r.urls.length > 10, `only ${r.urls.length} modules recorded`);
      const heavy = r.urls.filter((u) => HEAVY.test(u));
      assert.deepEqual(heavy, [], `loaded at start-up: ${heavy.join(', ')}`);
    });
  }
});

describe('dk output into a closed pipe', () => {
  it('help written to a pipe its reader has closed (as after `| head -1`): exit 0, no EPIPE trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [DK, 'train', '--help'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Close our end before dk writes: its write meets a closed pipe, as when `head` has exited.
    child.stdout.destroy();
    const code = await new Promise<number | null>((ok) => child.on('close', (c) => ok(c)));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  });
});
