/**
 * `dk paper --resume`: a job killed part-way (SIGKILL, no chance to clean up) continues from the
 * training runs it had finished and ends with the results an uninterrupted job gets — the same
 * numbers, because training is deterministic — and says in its notes that it was resumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../../src/paper/cache-dir.js';
import { comparable } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const paper = (out: string, ...more: string[]) => [CLI, 'paper', '--profile', 'tiny', '--out', out, '--threads', '1', '--quiet', ...more];


test('dk paper --resume after a kill ends with the same results as an uninterrupted run', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'dk-paper-resume-'));
  try {
    const ref = spawnSync(process.execPath, paper(join(root, 'ref')), { encoding: 'utf8', timeout: 200_000 });
    assert.equal(ref.status, 0, ref.stderr);
    assert.ok(!existsSync(join(root, 'ref', CACHE_DIR)), 'a finished job leaves its cache behind');
    const want = JSON.parse(readFileSync(join(root, 'ref', 'results.json'), 'utf8')) as Record<string, unknown>;

    // Kill a second job once it has finished six training runs.
    const dir = join(root, 'run');
    const cache = join(dir, CACHE_DIR);
    const finished = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.json')).length : 0);
    const child = spawn(process.execPath, paper(dir), { stdio: 'ignore' });
    const code = await new Promise<number | null>((done) => {
      const poll = setInterval(() => {
        if (finished() >= 6) {
          clearInterval(poll);
          child.kill('SIGKILL');
        }
      }, 10);
      child.on('exit', (c) => {
        clearInterval(poll);
        done(c);
      });
    });
    assert.equal(code, null, 'the job finished before it could be killed');
    assert.ok(!existsSync(join(dir, 'results.json')));
    const done = finished();
    assert.ok(done >= 6, `${done} runs finished before the kill`);

    // Without --resume the interrupted job is neither overwritten nor continued.
    const refused = spawnSync(process.execPath, paper(dir), { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /holds an interrupted job \(\.dk-paper-cache\); pass --resume to continue it, or --force to start over/);
    assert.equal(finished(), done);

    const resumed = spawnSync(process.execPath, paper(dir, '--resume'), { encoding: 'utf8', timeout: 200_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    const got = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, any>;
    assert.deepEqual(comparable(got), comparable(want));
    assert.equal(got.config.resumedRuns, done);
    assert.ok((got.notes as string[]).some((n) => n.startsWith(`resumed: ${done} training run(s)`)), got.notes.join('\n'));
    assert.ok(!existsSync(cache), 'the cache outlived the finished job');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
