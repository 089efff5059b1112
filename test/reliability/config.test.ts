/**
 * Config files, in process: the real `dk train` / `dk distill` commands are registered with a
 * stand-in job runner that records what the job would get, so precedence (flags > file >
 * defaults), negated flags, the schema and the saved effective config are checked without
 * training anything.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerTrain, type TrainJobArgs } from '../../src/cli/commands/train.js';
import { registerDistill, type DistillJobArgs } from '../../src/cli/commands/distill.js';
import { configSchema, effectiveConfig } from '../../src/cli/config.js';
import { UsageError } from '../../src/util/errors.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('dk-config-');
after(tmp.cleanup);
let n = 0;

/** Parse `argv` with the real commands; return the job's arguments (the job itself is not run). */
async function parse(argv: string[], files: Record<string, unknown> = {}): Promise<{ job: string; args: unknown; out: string }> {
  const dir = join(tmp.dir, `c${n++}`);
  (await import('node:fs')).mkdirSync(dir);
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  let got: { job: string; args: unknown } | null = null;
  const program = new Command().exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const run = async (job: string, args: unknown) => {
    got = { job, args };
    return { out: 'x', parameters: 0, seconds: 0, history: [], teacherKinds: [], transfer: { n: 0, labeled: true, description: '' } };
  };
  registerTrain(program, run);
  registerDistill(program, run);
  for (const c of program.commands) c.exitOverride();
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write; // the commands print a summary
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } finally {
    process.chdir(cwd);
    process.stdout.write = write;
  }
  assert.ok(got, 'the job was not run');
  return { ...(got as { job: string; args: unknown }), out: dir };
}

describe('--config', () => {
  it('flags on the command line win over the file, before or after --config; the file wins over defaults', async () => {
    const r = await parse(['train', '--model', 'mlp:8', '--epochs', '7', '--config', 'run.json', '--lr', '0.3', '--out', 'm.onnx'], {
      'run.json': { epochs: 2, lr: 0.2, batch: 32, 'weight-decay': 0.001, nesterov: true, schedule: 'step', gamma: 0.5, 'step-epochs': 1 },
    });
    const a = r.args as TrainJobArgs;
    assert.equal(a.train.epochs, 7, 'a flag before --config lost to the file');
    assert.equal(a.train.lr, 0.3, 'a flag after --config lost to the file');
    assert.equal(a.train.batch, 32);
    assert.equal(a.train.optim.weightDecay, 0.001);
    assert.equal(a.train.optim.nesterov, true);
    assert.deepEqual(a.train.schedule, { kind: 'step', gamma: 0.5, stepEpochs: 1, warmupSteps: 0 });
    // Saved next to the output, in the config format, with the final values.
    const eff = JSON.parse(readFileSync(join(r.out, 'm.onnx.config.json'), 'utf8'));
    assert.equal(eff.command, 'train');
    assert.equal(eff.epochs, 7);
    assert.equal(eff.lr, 0.3);
    assert.equal(eff.batch, 32);
    assert.equal(eff.config, undefined, '--config itself is not part of the effective config');
  });

  it('required flags may come from the file', async () => {
    const r = await parse(['train', '--config', 'run.json'], { 'run.json': { model: 'mlp:4', out: 'o.onnx', data: 'mnist' } });
    assert.equal((r.args as TrainJobArgs).model, 'mlp:4');
    assert.ok(existsSync(join(r.out, 'o.onnx.config.json')));
  });

  it('negated flags (--no-cache) and lists (--omit-classes) from the file', async () => {
    const r = await parse(['distill', '--config', 'd.json'], {
      'd.json': { command: 'distill', teacher: 't.onnx', student: 'mlp:8', out: 's.onnx', 'no-cache': true, 'omit-classes': [3, 5], temperature: 4, alpha: 0.5 },
    });
    const a = r.args as DistillJobArgs;
    assert.equal(a.cacheDir, null, '"no-cache": true did not turn the cache off');
    assert.deepEqual(a.transfer.omitClasses, [3, 5]);
    assert.equal(a.train.temperature, 4);
    assert.equal(a.train.alpha, 0.5);
    const eff = JSON.parse(readFileSync(join(r.out, 's.onnx.config.json'), 'utf8'));
    assert.equal(eff['no-cache'], true, 'the effective config inverted a negated flag');
  });

  it('checkpoint flags reach the training config; --checkpoint-every needs a directory', async () => {
    const r = await parse(['train', '--model', 'mlp:8', '--out', 'm.onnx', '--checkpoint-dir', 'ck', '--checkpoint-every', '50']);
    const ck = (r.args as TrainJobArgs).train.checkpoint!;
    assert.equal(ck.dir, 'ck');
    assert.equal(ck.every, 50);
    assert.equal(ck.resume, undefined);
    const run = ck.run as Record<string, unknown>;
    assert.equal(run.model, 'mlp:8');
    for (const k of ['out', 'checkpoint-dir', 'checkpoint-every', 'threads', 'force']) assert.ok(!(k in run), `${k} is compared on resume`);
    await assert.rejects(parse(['train', '--model', 'mlp:8', '--out', 'm.onnx', '--checkpoint-every', '5']), UsageError);
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown key', { lrate: 0.1 }, /unknown key 'lrate'; valid keys: command, model, out, holdout, data/],
    ['camelCase key', { stepEpochs: 2 }, /did you mean 'step-epochs'/],
    ['wrong type', { nesterov: 'yes' }, /key 'nesterov' must be a value of type boolean/],
    ['below the minimum', { lr: 0 }, /key 'lr' must be > 0/],
    ['above the maximum', { momentum: 2 }, /key 'momentum' must be <= 0.999/],
    ['a list of the wrong type', { 'omit-classes': ['a'] }, /unknown key 'omit-classes'/], // (train has no such flag)
    ['null', { epochs: null }, /key 'epochs' must be a value of type integer/],
  ];
  for (const [name, file, re] of bad) {
    it(`refuses ${name}, naming the key`, async () => {
      await assert.rejects(parse(['train', '--model', 'mlp:8', '--out', 'm.onnx', '--config', 'b.json'], { 'b.json': file }), (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, /^--config b\.json: /);
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    });
  }

  it('a schema per command, generated from its flags', () => {
    const program = new Command();
    const noop = async () => ({});
    registerTrain(program, noop);
    registerDistill(program, noop);
    const train = configSchema(program.commands.find((c) => c.name() === 'train')!) as { properties: Record<string, Record<string, unknown>> };
    const distill = configSchema(program.commands.find((c) => c.name() === 'distill')!) as { properties: Record<string, Record<string, unknown>> };
    assert.deepEqual({ ...train.properties.epochs, description: undefined }, { type: 'integer', minimum: 1, description: undefined });
    assert.equal(train.properties.lr.exclusiveMinimum, 0);
    assert.equal(train.properties.nesterov.type, 'boolean');
    assert.equal(train.properties.temperature, undefined, 'train has no --temperature');
    assert.equal(distill.properties.temperature.exclusiveMinimum, 0);
    assert.equal(distill.properties.alpha.maximum, 1);
    assert.deepEqual(distill.properties.command, { const: 'distill', description: 'the command this config is for (optional)' });
    assert.equal(effectiveConfig(program.commands[0]).command, 'train');
  });
});
