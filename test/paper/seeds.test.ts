/**
 * `dk paper --seeds A,B`: one run per seed in DIR/seed-N (each the same job as `--seed N`), then
 * their summary in DIR/seeds.{json,html}; finished seeds are kept with --resume, and nothing is
 * trained when a directory is in the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const paper = (out: string, ...more: string[]) => spawnSync(process.execPath, [CLI, 'paper', '--profile', 'tiny', '--out', out, '--threads', '1', '--quiet', ...more], { encoding: 'utf8', timeout: 200_000 });
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, any>;
/** The results without what differs from run to run by design: times, the date, the machine. */
const comparable = (r: Record<string, unknown>): unknown =>
  JSON.parse(JSON.stringify(r), (k, v) => (['createdAt', 'timings', 'machine'].includes(k) || /seconds/i.test(k) ? undefined : v));

test('dk paper --seeds runs each seed as --seed would and summarises them', { timeout: 300_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'dk-paper-seeds-'));
  try {
    const dir = join(root, 'seeds');
    const r = paper(dir, '--seeds', '2,1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^seed 2: teacher \d+, hard student \d+, distilled student \d+ test errors/);
    assert.match(r.stdout, /\nseed 1: teacher \d+/);
    assert.match(r.stdout, /2 seeds \(1, 2\): hard student [\d.]+, distilled student [\d.]+ mean test errors\nsummary: .*seeds\.json\nreport: .*seeds\.html\n$/);
    const runs = [1, 2].map((s) => read(join(dir, `seed-${s}`, 'results.json')));
    assert.deepEqual(
      runs.map((x) => x.config.seed),
      [1, 2],
    );
    const summary = read(join(dir, 'seeds.json'));
    assert.deepEqual(summary.seeds, [1, 2]);
    assert.deepEqual(
      summary.metrics.find((m: { label: string }) => m.label === 'Teacher, test errors').values,
      runs.map((x) => x.teacher.testErrors),
    );
    assert.ok(existsSync(join(dir, 'seeds.html')) && existsSync(join(dir, 'seed-1', 'report.html')));

    // Seed 1 of --seeds is the job --seed 1 runs.
    const single = paper(join(root, 'one'), '--seed', '1');
    assert.equal(single.status, 0, single.stderr);
    assert.deepEqual(comparable(runs[0]), comparable(read(join(root, 'one', 'results.json'))));

    // Again without flags: refused before anything is trained; with --resume the finished seeds are kept.
    const before = statSync(join(dir, 'seed-1', 'results.json')).mtimeMs;
    const refused = paper(dir, '--seeds', '1,2');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--out .*: seed-1: already holds a report; pass --force to replace it, or --resume to keep it/);
    const kept = paper(dir, '--seeds', '1,2', '--resume');
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /^seed 1: finished earlier, kept .*\nseed 2: finished earlier, kept /);
    assert.equal(statSync(join(dir, 'seed-1', 'results.json')).mtimeMs, before);
    // A kept run of another profile is refused before anything trains.
    const mixed = spawnSync(process.execPath, [CLI, 'paper', '--profile', 'quick', '--out', dir, '--seeds', '1,2', '--resume', '--quiet'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(mixed.status, 2);
    assert.match(mixed.stderr, /seed-1\/results\.json is the tiny profile from seed 1, not quick from seed 1; pass --force to run it again/);

    for (const [args, msg] of [
      [['--seeds', '1,2', '--seed', '1'], /--seed and --seeds: give one or the other/],
      [['--seeds', '3,3'], /--seeds: expected two or more different seeds, got '3,3'/],
      [['--seeds', '3'], /--seeds: expected two or more different seeds, got '3'/],
      [['--seeds', '1,x'], /--seeds: expected a comma-separated list of non-negative integers, got '1,x'/],
    ] as const) {
      const bad = paper(join(root, 'bad'), ...args);
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, msg);
    }
    assert.ok(!existsSync(join(root, 'bad')), 'a refused job left a directory behind');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
