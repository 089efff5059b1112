/**
 * `dk train` then `dk eval --json` on tiny MNIST-style directories: the model file is written,
 * and eval prints {"errors","total","accuracy","perClass","interval"} with numbers that agree
 * with each other, with the test labels, and with what train reported for the same weights.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dk, tempDir, writeMnistSubset, writeRandomIdxDir } from './helpers.js';
import { errorInterval, mcnemarP } from '../../src/util/stats.js';

const { dir: root, cleanup } = tempDir('dk-cli-train-');
after(cleanup);

interface EvalJson {
  errors: number;
  total: number;
  accuracy: number;
  perClass: number[];
  interval: { level: number; lo: number; hi: number };
  compare?: { model: string; errors: number; interval: { level: number; lo: number; hi: number }; onlyModel: number; onlyCompare: number; pValue: number };
}

/** Check an eval summary against the test labels it was computed on. */
function checkConsistent(r: EvalJson, labels: Int32Array, classes: number): void {
  assert.deepEqual(Object.keys(r), ['errors', 'total', 'accuracy', 'perClass', 'interval']);
  assert.deepEqual(r.interval, { level: 0.95, ...errorInterval(r.errors, r.total, 0.95) });
  assert.equal(r.total, labels.length);
  assert.ok(Number.isInteger(r.errors) && r.errors >= 0 && r.errors <= r.total);
  assert.ok(Math.abs(r.accuracy - (r.total - r.errors) / r.total) < 1e-12);
  assert.equal(r.perClass.length, classes);
  const count = new Array(classes).fill(0);
  for (const y of labels) count[y]++;
  let right = 0;
  r.perClass.forEach((a, k) => {
    assert.ok(a >= 0 && a <= 1, `perClass[${k}] = ${a}`);
    const hits = a * count[k];
    assert.ok(Math.abs(hits - Math.round(hits)) < 1e-9, `perClass[${k}] = ${a} is not a fraction of ${count[k]}`);
    right += Math.round(hits);
  });
  assert.equal(right, r.total - r.errors, 'perClass does not add up to the accuracy');
}

function trainThenEval(data: string, model: string, cwd: string, extra: string[] = []): { train: string; eval: EvalJson } {
  const t = dk(['train', '--model', model, '--data', data, '--epochs', '1', '--threads', '1', '--out', 'm.onnx', ...extra], cwd);
  assert.equal(t.status, 0, `train failed:\n${t.stderr}`);
  assert.ok(existsSync(join(cwd, 'm.onnx')));
  const files = readdirSync(cwd);
  assert.ok(files.every((f) => f.startsWith('m.onnx')), `train left other files behind: ${files}`); // no temporary files
  const e = dk(['eval', '--model', 'm.onnx', '--data', data, '--json', '--threads', '1'], cwd);
  assert.equal(e.status, 0, `eval failed:\n${e.stderr}`);
  const lines = e.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, `--json must print one line, got:\n${e.stdout}`);
  return { train: t.stdout, eval: JSON.parse(lines[0]) as EvalJson };
}

describe('dk train → dk eval --json', () => {
  it('mlp:64 on a 600/300 MNIST subset', () => {
    const data = join(root, 'mnist-subset');
    const labels = writeMnistSubset(data, 600, 300);
    const cwd = join(root, 'run-mlp');
    mkdirSync(cwd);
    const { train, eval: r } = trainThenEval(data, 'mlp:64', cwd, ['--batch', '20', '--seed', '3']);
    checkConsistent(r, labels, 10);
    // train reports the test errors of the weights it saved; eval of the file must agree.
    const m = /test errors (\d+)\/(\d+)/.exec(train);
    assert.ok(m, `train printed no test errors: ${train}`);
    assert.equal(Number(m[1]), r.errors);
    assert.equal(Number(m[2]), r.total);
    assert.ok(r.errors < 0.6 * r.total, `did not learn: ${r.errors}/${r.total} errors (chance is 90%)`);
    // The plain-text form says the same.
    const text = dk(['eval', '--model', 'm.onnx', '--data', data, '--threads', '1'], cwd);
    assert.equal(text.status, 0);
    assert.ok(text.stdout.includes(`test errors ${r.errors}/${r.total}`), text.stdout);
    // The same command again writes a byte-identical model file.
    const again = join(root, 'run-mlp-again');
    mkdirSync(again);
    const t2 = dk(['train', '--model', 'mlp:64', '--data', data, '--epochs', '1', '--threads', '1', '--out', 'm.onnx', '--batch', '20', '--seed', '3'], again);
    assert.equal(t2.status, 0, t2.stderr);
    assert.ok(readFileSync(join(again, 'm.onnx')).equals(readFileSync(join(cwd, 'm.onnx'))), 'same seed, different model file');
  });

  it('--compare: a paired test of two models on the same test examples', () => {
    const data = join(root, 'mnist-subset-compare');
    writeMnistSubset(data, 600, 300);
    const cwd = join(root, 'run-compare');
    mkdirSync(cwd);
    for (const [out, seed] of [['a.onnx', '3'], ['b.onnx', '4']]) {
      const t = dk(['train', '--model', 'mlp:16', '--data', data, '--epochs', '1', '--batch', '20', '--seed', seed, '--threads', '1', '--out', out], cwd);
      assert.equal(t.status, 0, t.stderr);
    }
    const evalJson = (...args: string[]): EvalJson => {
      const e = dk(['eval', '--data', data, '--json', '--threads', '1', ...args], cwd);
      assert.equal(e.status, 0, e.stderr);
      return JSON.parse(e.stdout) as EvalJson;
    };
    const a = evalJson('--model', 'a.onnx');
    const b = evalJson('--model', 'b.onnx');
    const ab = evalJson('--model', 'a.onnx', '--compare', 'b.onnx');
    const c = ab.compare!;
    assert.equal(ab.errors, a.errors);
    assert.equal(c.model, 'b.onnx');
    assert.equal(c.errors, b.errors);
    assert.deepEqual(c.interval, b.interval);
    // The discordant counts differ by exactly the difference in errors, and the p-value is theirs.
    assert.equal(c.onlyModel - c.onlyCompare, a.errors - b.errors);
    assert.ok(c.onlyModel + c.onlyCompare > 0, 'two seeds gave identical predictions');
    assert.equal(c.pValue, mcnemarP(c.onlyModel, c.onlyCompare));
    // Swapping the models swaps the counts; a model against itself has no discordant examples.
    const ba = evalJson('--model', 'b.onnx', '--compare', 'a.onnx').compare!;
    assert.deepEqual([ba.onlyModel, ba.onlyCompare, ba.pValue], [c.onlyCompare, c.onlyModel, c.pValue]);
    assert.deepEqual(evalJson('--model', 'a.onnx', '--compare', 'a.onnx').compare, { model: 'a.onnx', errors: a.errors, interval: a.interval, onlyModel: 0, onlyCompare: 0, pValue: 1 });
    // --bias changes --model only: the bias-shifted model against the plain one.
    const biased = evalJson('--model', 'a.onnx', '--bias', '3=+4', '--compare', 'a.onnx');
    assert.equal(biased.compare!.errors, a.errors);
    assert.equal(biased.compare!.onlyModel - biased.compare!.onlyCompare, biased.errors - a.errors);
    // The plain-text form.
    const text = dk(['eval', '--model', 'a.onnx', '--compare', 'b.onnx', '--data', data, '--threads', '1'], cwd);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`test errors ${a.errors}/300, accuracy [0-9.]+% \\(95% interval \\d+–\\d+\\)`));
    assert.match(text.stdout, new RegExp(`only --model wrong: ${c.onlyModel}, only --compare wrong: ${c.onlyCompare}; exact McNemar test p = `));
    // Bad input: named, exit 2.
    const missing = dk(['eval', '--model', 'a.onnx', '--compare', 'nope.onnx', '--data', data, '--threads', '1'], cwd);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--compare nope\.onnx/);
    const both = dk(['eval', '--model', 'a.onnx', '--compare', 'b.onnx', '--specialists', 'x', '--data', data, '--threads', '1'], cwd);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--compare: cannot be combined with --specialists/);
  });

  it('--holdout: trains on the rest, scores the held-out split each epoch; dk bias draws the same split from the same seed', () => {
    const data = join(root, 'mnist-subset-holdout');
    writeMnistSubset(data, 600, 300);
    const cwd = join(root, 'run-holdout');
    mkdirSync(cwd);
    const t = dk(['train', '--model', 'mlp:32', '--data', data, '--epochs', '2', '--batch', '20', '--seed', '3', '--holdout', '100', '--threads', '1', '--out', 'm.onnx'], cwd);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /training on 500 examples; 100 held out \(seed 3\)/);
    assert.match(t.stderr, /train epoch 1\/2: .* held-out errors \d+\/100 test errors \d+\/300/);
    const m = /; held-out errors (\d+)\/100; test errors \d+\/300/.exec(t.stdout);
    assert.ok(m, t.stdout);
    const b = dk(['bias', '--model', 'm.onnx', '--data', data, '--classes', '0', '--range', '0:0:1', '--holdout', '100', '--seed', '3', '--threads', '1'], cwd);
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`chosen on 100 held-out training examples: errors ${m[1]} → ${m[1]}\\)`));
    // A fraction holds out that share of the training set.
    const t2 = dk(['train', '--model', 'mlp:32', '--data', data, '--epochs', '2', '--batch', '20', '--seed', '3', '--holdout', '0.5', '--threads', '1', '--out', 'half.onnx'], cwd);
    assert.equal(t2.status, 0, t2.stderr);
    assert.match(t2.stderr, /training on 300 examples; 300 held out/);
    // Bad sizes: named, exit 2, nothing written.
    for (const [v, msg] of [['0', /--holdout: expected a count ≥ 1 or a fraction in \(0, 1\), got '0'/], ['2.5', /--holdout: .* got '2\.5'/], ['600', /holding out 600 of 600 examples .* leaves none to train on/]] as const) {
      const bad = dk(['train', '--model', 'mlp:8', '--data', data, '--epochs', '1', '--holdout', v, '--threads', '1', '--out', 'bad.onnx'], cwd);
      assert.equal(bad.status, 2, `--holdout ${v}: ${bad.stderr}`);
      assert.match(bad.stderr, msg);
      assert.ok(!existsSync(join(cwd, 'bad.onnx')));
    }
  });

  it('any image size and class count: a 5×7, 3-class directory (mlp) and an 8×8, 4-class one (cnn)', () => {
    const d1 = join(root, 'odd');
    const y1 = writeRandomIdxDir(d1, { nTrain: 40, nTest: 17, rows: 5, cols: 7, classes: 3, seed: 1 });
    const c1 = join(root, 'run-odd');
    mkdirSync(c1);
    checkConsistent(trainThenEval(d1, 'mlp:8', c1, ['--batch', '8']).eval, y1, 3);

    const d2 = join(root, 'cnn8');
    const y2 = writeRandomIdxDir(d2, { nTrain: 30, nTest: 11, rows: 8, cols: 8, classes: 4, seed: 2 });
    const c2 = join(root, 'run-cnn');
    mkdirSync(c2);
    checkConsistent(trainThenEval(d2, 'cnn:2:6', c2, ['--batch', '10', '--jitter', '1']).eval, y2, 4);
  });
});
