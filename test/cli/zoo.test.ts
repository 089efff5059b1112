/**
 * The zoo students through the CLI on a 600/300 MNIST subset ([1,28,28] images): `dk train
 * --model resnet:…` / `mobilenet:…` / `cnn:…@3` and `dk distill --student resnet:…` save a
 * model whose `dk eval` equals the test errors training reported for it, and a run resumed
 * (`--resume`) from a checkpoint in the middle of training ends in a byte-identical model file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { dk, tempDir, writeMnistSubset } from './helpers.js';

const { dir: root, cleanup } = tempDir('dk-cli-zoo-');
after(cleanup);
const data = join(root, 'mnist-subset');
before(() => writeMnistSubset(data, 600, 300));

const base = (model: string) => ['train', '--model', model, '--data', data, '--batch', '50', '--threads', '1', '--seed', '4', '--quiet'];

describe('dk train with zoo students → dk eval', () => {
  for (const model of ['resnet:4,8', 'mobilenet:4,8,16', 'cnn:4,8:16@3']) {
    it(`${model}: eval of the saved file equals the evaluation at the end of training`, () => {
      const cwd = join(root, model.replace(/[^a-z0-9]+/g, '-'));
      mkdirSync(cwd);
      const t = dk([...base(model), '--epochs', '2', '--optimizer', 'adam', '--lr', '0.01', '--out', 'm.onnx'], cwd);
      assert.equal(t.status, 0, `train failed:\n${t.stderr}`);
      const m = /test errors (\d+)\/(\d+)/.exec(t.stdout);
      assert.ok(m, `train printed no test errors: ${t.stdout}`);
      const e = dk(['eval', '--model', 'm.onnx', '--data', data, '--json', '--threads', '1'], cwd);
      assert.equal(e.status, 0, `eval failed:\n${e.stderr}`);
      const r = JSON.parse(e.stdout) as { errors: number; total: number };
      assert.equal(r.errors, Number(m[1]));
      assert.equal(r.total, 300);
      assert.ok(r.errors < 0.85 * r.total, `did not learn: ${r.errors}/${r.total} errors (chance is 90%)`);
    });
  }
});

describe('dk distill with zoo students', () => {
  it('resnet:4,8 distilled from an MLP teacher: eval of the saved student equals the evaluation at the end of training', () => {
    const cwd = join(root, 'distill');
    mkdirSync(cwd);
    const t = dk([...base('mlp:32'), '--epochs', '1', '--out', 'teacher.onnx'], cwd);
    assert.equal(t.status, 0, t.stderr);
    const d = dk(['distill', '--teacher', 'teacher.onnx', '--student', 'resnet:4,8', '--data', data, '--epochs', '1', '--batch', '50', '--threads', '1', '--seed', '4', '--no-cache', '--quiet', '--out', 's.onnx'], cwd);
    assert.equal(d.status, 0, d.stderr);
    const m = /saved [^;]*; test errors (\d+)\/(\d+)/.exec(d.stdout);
    assert.ok(m, `distill printed no test errors: ${d.stdout}`);
    const e = dk(['eval', '--model', 's.onnx', '--data', data, '--json', '--threads', '1'], cwd);
    assert.equal(e.status, 0, e.stderr);
    assert.equal((JSON.parse(e.stdout) as { errors: number }).errors, Number(m[1]));
  });
});

describe('dk train --resume with zoo students', () => {
  for (const model of ['resnet:4,8', 'mobilenet:4,8,16']) {
    it(`${model}: resumed from a mid-training checkpoint, the model file is byte-identical`, () => {
      const cwd = join(root, `resume-${model.replace(/[^a-z0-9]+/g, '-')}`);
      mkdirSync(cwd);
      const flags = [...base(model), '--epochs', '2', '--lr', '0.1'];
      const t = dk([...flags, '--out', 'a.onnx', '--checkpoint-dir', 'ck', '--checkpoint-every', '5'], cwd);
      assert.equal(t.status, 0, t.stderr);
      // Damage the final checkpoint: --resume falls back to the previous one (step 20 of 24) and trains on from there.
      const ck = join(cwd, 'ck');
      const [latest] = listCheckpoints(ck).filter((f) => !f.includes('.prev.'));
      const bytes = readFileSync(join(ck, latest));
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(join(ck, latest), bytes);
      const r = dk([...flags, '--out', 'b.onnx', '--resume', 'ck'], cwd);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr + r.stdout, /resuming from the previous checkpoint/);
      assert.match(r.stderr + r.stdout, /epoch 2\/2, step 8\/12 \(global step 20\)/);
      assert.ok(existsSync(join(cwd, 'b.onnx')));
      assert.ok(readFileSync(join(cwd, 'a.onnx')).equals(readFileSync(join(cwd, 'b.onnx'))), 'the resumed run saved a different model');
    });
  }
});
