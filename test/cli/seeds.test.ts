/**
 * `dk seeds --results A B … --out DIR`: summarises runs from different seeds into DIR/seeds.json
 * and DIR/seeds.html; runs that cannot be compared and bad files are named with exit code 2 and
 * leave nothing behind; an existing summary is only replaced with --force.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { summariseSeeds } from '../../src/report/seeds.js';
import { seedRun } from '../report/seed-runs.js';
import { dk, tempDir } from './helpers.js';

const { dir: root, cleanup } = tempDir('dk-cli-seeds-');
after(cleanup);

function writeRun(cwd: string, name: string, r: object): string {
  mkdirSync(join(cwd, name), { recursive: true });
  writeFileSync(join(cwd, name, 'results.json'), JSON.stringify(r));
  return `${name}/results.json`;
}

test('dk seeds writes the summary the library computes, and keeps an existing one without --force', () => {
  const cwd = join(root, 'ok');
  const a = seedRun(1, 76, 144, 97);
  const b = seedRun(2, 78, 140, 90);
  const files = [writeRun(cwd, 's2', b), writeRun(cwd, 's1', a)];
  const r = dk(['seeds', '--results', ...files, '--out', 'sum'], cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^2 seeds \(1, 2\): hard student 142\.0, distilled student 93\.5 mean test errors\nsummary: .*sum\/seeds\.json\nreport: .*sum\/seeds\.html\n$/);
  const got = JSON.parse(readFileSync(join(cwd, 'sum', 'seeds.json'), 'utf8'));
  const want = summariseSeeds(
    [
      { source: files[0], results: b },
      { source: files[1], results: a },
    ],
    got.createdAt,
  );
  assert.deepEqual(got, JSON.parse(JSON.stringify(want)));
  assert.match(readFileSync(join(cwd, 'sum', 'seeds.html'), 'utf8'), /<title>Dark knowledge across 2 seeds/);
  writeFileSync(join(cwd, 'sum', 'seeds.html'), 'mine');
  const again = dk(['seeds', '--results', ...files, '--out', 'sum'], cwd);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--out sum: .*seeds\.json already exists; pass --force to replace it/);
  assert.equal(readFileSync(join(cwd, 'sum', 'seeds.html'), 'utf8'), 'mine');
  const forced = dk(['seeds', '--results', ...files, '--out', 'sum', '--force'], cwd);
  assert.equal(forced.status, 0, forced.stderr);
  assert.notEqual(readFileSync(join(cwd, 'sum', 'seeds.html'), 'utf8'), 'mine');
});

test('dk seeds names what is wrong and writes nothing', () => {
  const cwd = join(root, 'bad');
  const one = writeRun(cwd, 'one', seedRun(1, 76, 144, 97));
  const same = writeRun(cwd, 'same', seedRun(1, 70, 140, 90));
  const quick = seedRun(3, 70, 140, 90);
  quick.config.profile = 'quick';
  const other = writeRun(cwd, 'quick', quick);
  const broken = seedRun(4, 70, 140, 90) as unknown as Record<string, any>;
  broken.hard.testErrors = -1;
  const bad = writeRun(cwd, 'bad', broken);
  writeFileSync(join(cwd, 'file'), 'x');
  const cases: [string[], RegExp][] = [
    [['--results', one], /--results: give at least two results\.json files .* got 1/],
    [['--results', one, same], /--results: same\/results\.json and one\/results\.json are both seed 1; each run must have its own seed/],
    [['--results', one, other], /--results: quick\/results\.json: profile 'quick', but one\/results\.json is 'example'/],
    [['--results', one, bad], /--results bad\/results\.json: results: \/hard\/testErrors/],
    [['--results', one, 'missing.json'], /--results missing\.json: cannot read \(ENOENT\)/],
    [['--results', one, same, '--out', 'file'], /--out file: exists and is not a directory/],
  ];
  for (const [args, msg] of cases) {
    const r = dk(['seeds', ...args, ...(args.includes('--out') ? [] : ['--out', 'sum'])], cwd);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.ok(!existsSync(join(cwd, 'sum')), 'a failed summary left its directory behind');
  assert.deepEqual(readdirSync(cwd).sort(), ['bad', 'file', 'one', 'quick', 'same']);
});

test('dk seeds links the summary and the seeds’ own reports to each other, where the runs wrote one', () => {
  const cwd = join(root, 'links');
  const files = [writeRun(cwd, 'seed-1', seedRun(1, 76, 144, 97)), writeRun(cwd, 'seed-2', seedRun(2, 78, 140, 90)), writeRun(cwd, 'seed-3', seedRun(3, 77, 141, 92))];
  writeFileSync(join(cwd, 'seed-1', 'report.html'), 'old');
  writeFileSync(join(cwd, 'seed-2', 'report.html'), 'old');
  const r = dk(['seeds', '--results', ...files, '--out', '.'], cwd);
  assert.equal(r.status, 0, r.stderr);
  const page = readFileSync(join(cwd, 'seeds.html'), 'utf8');
  assert.match(page, /<a class="mono" href="seed-1\/report\.html">seed-1\/results\.json<\/a>/);
  assert.match(page, /<a class="mono" href="seed-2\/report\.html">/);
  assert.doesNotMatch(page, /href="seed-3\/report\.html"/, 'a link to a report that does not exist');
  assert.doesNotMatch(page.slice(page.indexOf('<body'), page.indexOf('<script')), /\d{4}-\d\d-\d\dT\d\d:/, 'an ISO timestamp shown to people');
  const one = readFileSync(join(cwd, 'seed-1', 'report.html'), 'utf8');
  assert.match(one, /<a class="ext" href="\.\.\/seeds\.html">all seeds<\/a><a class="ext" href="\.\.\/seed-2\/report\.html">seed 2<\/a><\/nav>/);
  assert.match(readFileSync(join(cwd, 'seed-2', 'report.html'), 'utf8'), /href="\.\.\/seed-1\/report\.html">seed 1</);
  assert.ok(!existsSync(join(cwd, 'seed-3', 'report.html')), 'a report written where the run had none');
});
