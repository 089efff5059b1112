/**
 * `dk report --results FILE`: re-renders report.html from a results.json after validating it;
 * bad files are named with exit code 2 and leave nothing behind; an existing report is only
 * replaced with --force.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { exampleResults } from '../../src/report/example.js';
import { renderReport } from '../../src/report/html.js';
import { dk, tempDir } from './helpers.js';

const { dir: root, cleanup } = tempDir('dk-cli-report-');
after(cleanup);

test('dk report renders the same page as the library, beside the results by default', () => {
  const cwd = join(root, 'ok');
  mkdirSync(cwd);
  const results = exampleResults();
  writeFileSync(join(cwd, 'results.json'), JSON.stringify(results));
  const r = dk(['report', '--results', 'results.json'], cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^report: .*report\.html\n$/);
  assert.equal(readFileSync(join(cwd, 'report.html'), 'utf8'), renderReport(results));
  // An existing report is kept unless --force.
  writeFileSync(join(cwd, 'report.html'), 'mine');
  const again = dk(['report', '--results', 'results.json'], cwd);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--out .*report\.html: already exists; pass --force to replace it/);
  assert.equal(readFileSync(join(cwd, 'report.html'), 'utf8'), 'mine');
  const forced = dk(['report', '--results', 'results.json', '--force', '--out', 'other.html'], cwd);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(readFileSync(join(cwd, 'other.html'), 'utf8'), renderReport(results));
  assert.deepEqual(readdirSync(cwd).sort(), ['other.html', 'report.html', 'results.json']);
});

test('dk report names a bad results file and writes nothing', () => {
  const cwd = join(root, 'bad');
  mkdirSync(cwd);
  const broken = JSON.parse(JSON.stringify(exampleResults())) as Record<string, any>;
  broken.teacher.testErrors = 'many';
  writeFileSync(join(cwd, 'invalid.json'), JSON.stringify(broken));
  writeFileSync(join(cwd, 'garbage.json'), '{"teacher": ');
  const cases: [string[], RegExp][] = [
    [['--results', 'invalid.json'], /--results invalid\.json: results: \/teacher\/testErrors must be integer/],
    [['--results', 'garbage.json'], /--results garbage\.json: not valid JSON/],
    [['--results', 'missing.json'], /--results missing\.json: cannot read \(ENOENT\)/],
    [['--results', 'invalid.json', '--out', '.'], /--results invalid\.json/],
  ];
  for (const [args, msg] of cases) {
    const r = dk(['report', ...args], cwd);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  writeFileSync(join(cwd, 'results.json'), JSON.stringify(exampleResults()));
  const dirOut = dk(['report', '--results', 'results.json', '--out', '.', '--force'], cwd);
  assert.equal(dirOut.status, 2);
  assert.match(dirOut.stderr, /--out \.: is a directory; expected an \.html file path/);
  assert.ok(!existsSync(join(cwd, 'report.html')));
  assert.deepEqual(readdirSync(cwd).sort(), ['garbage.json', 'invalid.json', 'results.json']);
});
