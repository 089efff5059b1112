/**
 * `dk distill` and `dk bias` as a user runs them: bad flags exit 2 with a one-line message
 * naming the flag; a small end-to-end run (train a teacher, distil, reuse the cache, pick a bias).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dk, tempDir, writeMnistSubset } from '../cli/helpers.js';

const { dir: root, cleanup } = tempDir('dk-distill-cli-');
after(cleanup);
const data = join(root, 'data');

function expectExit2(args: string[], names: string[]): void {
  const cwd = join(root, `bad-${Math.random().toString(36).slice(2)}`);
  mkdirSync(cwd);
  writeFileSync(join(cwd, 't.onnx'), 'not onnx');
  const r = dk(args, cwd);
  const what = `dk ${args.join(' ')}\n--- stderr:\n${r.stderr}--- stdout:\n${r.stdout}`;
  assert.equal(r.status, 2, what);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line: ${what}`);
  for (const n of names) assert.ok(lines[0].includes(n), `names ${n}: ${what}`);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack: ${what}`);
  assert.deepEqual(readdirSync(cwd), ['t.onnx'], `no files created: ${what}`);
}

describe('dk distill / dk bias (CLI)', () => {
  before(() => {
    writeMnistSubset(data, 400, 200);
  });

  const base = (...more: string[]) => ['distill', '--teacher', 't.onnx', '--student', 'mlp:8', '--data', data, '--epochs', '1', '--threads', '1', '--out', 's.onnx', ...more];

  it('bad flags exit 2 naming the flag', () => {
    expectExit2(base('--temperature', '0'), ['--temperature', '> 0']);
    expectExit2(base('--temperature', '-3'), ['--temperature']);
    expectExit2(base('--alpha', '1.5'), ['--alpha', '≤ 1']);
    expectExit2(base('--alpha', '-0.1'), ['--alpha']);
    expectExit2(base('--warmup', 'soon'), ['--warmup', "a non-negative integer or 'auto'", 'soon']);
    expectExit2(base('--warmup', '-5'), ['--warmup']);
    expectExit2(base('--loss', 'foo'), ['--loss', 'soft-ce', 'logit-mse', 'foo']);
    expectExit2(base('--mix', 'sometimes'), ['--mix', 'convex', 'alternate']);
    expectExit2(base('--ensemble', 'median'), ['--ensemble', 'mean', 'geomean']);
    expectExit2(base('--teacher-outputs', 'scores'), ['--teacher-outputs', 'auto']);
    expectExit2(base('--fraction', '0'), ['--fraction']);
    expectExit2(base('--omit-classes', 'three'), ['--omit-classes']);
    expectExit2(base('--omit-classes', '12'), ['--omit-classes', '12']);
    expectExit2(base('--student', 'mlp:'), ['mlp:']);
    expectExit2(base(), ['t.onnx', 'not an ONNX model']);
    expectExit2(['distill', '--teacher', 'missing.onnx', '--student', 'mlp:8', '--data', data, '--out', 's.onnx'], ['missing.onnx', 'ENOENT']);
    expectExit2(['bias', '--model', 't.onnx', '--classes', '3', '--range', '5:1:1'], ['--range']);
  });

  it('end to end: teacher from dk train, distil (cache written, then reused), bias picked on held-out data', () => {
    const cwd = join(root, 'e2e');
    mkdirSync(cwd);
    let r = dk(['train', '--model', 'linear', '--data', data, '--epochs', '2', '--threads', '1', '--out', 'teacher.onnx'], cwd);
    assert.equal(r.status, 0, r.stderr);
    const distillArgs = (out: string) => ['distill', '--teacher', 'teacher.onnx', '--student', 'mlp:16', '--data', data, '--epochs', '2', '--threads', '1', '--temperature', '4', '--holdout', '50', '--omit-classes', '3', '--out', out];
    r = dk(distillArgs('s1.onnx'), cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /saved .*s1\.onnx .*; held-out errors \d+\/50; test errors \d+\/200.*teacher test errors \d+\/200/);
    const heldOut = Number(/held-out errors (\d+)\/50/.exec(r.stdout)![1]);
    assert.match(r.stderr, /distill epoch 2\/2: .* held-out errors \d+\/50 test errors/);
    assert.match(r.stderr, /outputs logits \(a dark-knowledge model\)/);
    assert.match(r.stderr, /transfer set: training set, − 50 held out, class 3 omitted/);
    // The default warm-up, computed on the transfer set: 10% of 2 epochs × ceil(n / 128) steps.
    const n = Number(/class 3 omitted: ([\d,]+) examples/.exec(r.stderr)![1].replace(/,/g, ''));
    assert.match(r.stderr, new RegExp(`lr warm-up: ${Math.round(0.1 * 2 * Math.ceil(n / 128))} steps \\(auto: 10% of the steps, at most 400\\)`));
    assert.match(r.stderr, /cached in/);
    assert.equal(readdirSync(join(cwd, '.dk-cache')).length, 2, 'train and test outputs cached');
    r = dk([...distillArgs('s2.onnx'), '--warmup', '0'], cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /read from cache/);
    assert.ok(!/lr warm-up/.test(r.stderr), '--warmup 0 turns the default warm-up off');
    assert.ok(!/cached in/.test(r.stderr));
    r = dk(['bias', '--model', 's1.onnx', '--classes', '3', '--data', data, '--holdout', '50', '--threads', '1', '--out', 's1-adjusted.onnx'], cwd);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /offset [+-]?[\d.]+ on class 3 \(chosen on 50 held-out training examples: errors \d+ → \d+\)\ntest errors \d+\/200 → \d+\/200\nsaved/);
    // dk bias draws the same split: its errors before the offset are the student's held-out errors above.
    assert.equal(Number(/held-out training examples: errors (\d+) →/.exec(r.stdout)![1]), heldOut);
    assert.ok(existsSync(join(cwd, 's1-adjusted.onnx')));
  });
});
