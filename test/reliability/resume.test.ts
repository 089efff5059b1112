/**
 * Checkpoints and exact resume.
 *
 * In-process: a training interrupted at chosen steps (an exception from the event callback)
 * and resumed from its checkpoint ends with bitwise the same weights as one never interrupted —
 * with dropout, jitter, momentum, Adam, BatchNorm, distillation targets, the alternate mix and a
 * lazy custom sampler. Damaged checkpoints fall back to the previous one; a changed config is
 * refused naming the keys; a diverging run stops with exit code 3 leaving the last checkpoint
 * intact and finite.
 *
 * Out of process: `dk train` SIGKILLed at seeded random moments, resumed each time, matches
 * an uninterrupted run bitwise; a process SIGKILLed while writing a large file with
 * writeFileAtomic leaves the old file (or a complete new one), never a torn one.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { DEFAULT_OPTIM } from '../../src/optim/optimizers.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, listCheckpoints, readCheckpoint } from '../../src/train/checkpoint.js';
import { Network } from '../../src/train/network.js';
import { type BatchSampler, type OnlineTeacher, type TrainConfig, type TrainOptions, DEFAULT_TRAIN, firstNonFinite, trainNetwork } from '../../src/train/trainer.js';
import { removeStaleTemps } from '../../src/util/atomic.js';
import { DivergenceError, UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tensor } from '../../src/graph/ir.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { toOnnxBytes } from '../../src/graph/onnx.js';
import { writeMiniMnist } from '../data/helpers.js';
import { dk, runNode, sleep, tempDir, weightBytes } from './helpers.js';

const RT = { threads: 1 };
const root = tempDir('dk-resume-');
after(root.cleanup);
let dirCount = 0;
const freshDir = (name = 'ck') => join(root.dir, `${name}${dirCount++}`);

/** n examples of shape [1,6,6], 3 classes, seeded. */
function synthetic(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 36);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(3);
    for (let j = 0; j < 36; j++) x[i * 36 + j] = Math.fround(rng.float() * 0.5 + (j % 3 === y[i] ? 0.5 : 0));
  }
  return { x, y, n, shape: [1, 6, 6], classes: 3, source: 'synthetic' };
}
const DATA = synthetic(120, 5);

class Interrupt extends Error {}

interface Scenario {
  name: string;
  model?: { spec?: string; dropout?: number; inputDropout?: number; batchNorm?: boolean };
  cfg: Partial<TrainConfig>;
  every: number;
  /** Global steps after which the run is interrupted (one interruption per resumed attempt). */
  interrupts: number[];
  opts?: () => Partial<TrainOptions>;
  /** Build the network some other way (default: from `model`). */
  make?: () => Network;
}

/**
 * A student given as an ONNX file, for [1,6,6] → 3 classes: Conv 3×3 (pads 1) → BatchNormalization
 * → Relu → Dropout(0.25) → Flatten → Gemm, with seeded weights (src/nn/imported.ts trains it).
 */
function onnxStudent(): Network {
  const g = new GraphBuilder('student');
  const rng = new Rng(21);
  const w = (name: string, dims: number[], sd: number) => g.initializer(name, tensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * sd)));
  const x = g.input('x', 'float32', ['batch', 1, 6, 6]);
  const c = g.op('Conv', [x, w('c.weight', [4, 1, 3, 3], 0.4), w('c.bias', [4], 0.1)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const ones = (name: string, v: number) => g.initializer(name, tensor('float32', [4], new Float32Array(4).fill(v)));
  const b = g.op('BatchNormalization', [c, ones('bn.weight', 1), ones('bn.bias', 0), ones('bn.running_mean', 0), ones('bn.running_var', 1)], { epsilon: 1e-5 });
  const d = g.op('Dropout', [g.op('Relu', [b]), g.scalar(0.25)]);
  const y = g.op('Gemm', [g.op('Flatten', [d], { axis: 1 }), w('fc.weight', [3, 144], 0.1), w('fc.bias', [3], 0)], { transB: 1 });
  g.output(y, 'logits');
  return Network.fromStudentFile(toOnnxBytes(g.build()), 'student.onnx');
}

function makeNet(s: Scenario): Network {
  if (s.make) return s.make();
  const m = s.model ?? {};
  const spec = m.spec ?? 'mlp:12';
  const inputShape = /^(resnet|mobilenet|cnn):/.test(spec) ? DATA.shape : [36];
  return Network.create({ spec, inputShape, classes: 3, options: { dropout: m.dropout ?? 0, inputDropout: m.inputDropout ?? 0, batchNorm: m.batchNorm ?? false } }, 3);
}

function config(s: Scenario, extra: Partial<TrainConfig> = {}): TrainConfig {
  return { ...DEFAULT_TRAIN, epochs: 3, batch: 16, lr: 0.05, seed: 9, optim: { ...DEFAULT_OPTIM }, ...s.cfg, ...extra };
}

async function uninterrupted(s: Scenario): Promise<{ bytes: Buffer; losses: number[] }> {
  const net = makeNet(s);
  const r = await trainNetwork(net, DATA, config(s), { runtime: RT, ...s.opts?.() });
  return { bytes: weightBytes(net), losses: r.history.map((h) => h.loss) };
}

/** Run with checkpoints, interrupting after each listed global step and resuming. */
async function interrupted(s: Scenario, dir: string, logs: string[] = []): Promise<{ bytes: Buffer; losses: number[]; attempts: number }> {
  let attempts = 0;
  for (let k = 0; ; k++) {
    const stopAt = s.interrupts[k];
    const net = makeNet(s);
    let steps = 0;
    const ck = { dir, every: s.every, resume: attempts > 0 };
    attempts++;
    try {
      const r = await trainNetwork(net, DATA, config(s, { checkpoint: ck }), {
        runtime: RT,
        stepEvery: 1,
        onLog: (t) => logs.push(t),
        onEvent: (e) => {
          if (e.type !== 'step') return;
          steps++;
          if (stopAt !== undefined && (e.epoch - 1) * e.stepsPerEpoch + e.step >= stopAt && steps > 0) throw new Interrupt(`stop at ${stopAt}`);
        },
        ...s.opts?.(),
      });
      return { bytes: weightBytes(net), losses: r.history.map((h) => h.loss), attempts };
    } catch (e) {
      if (!(e instanceof Interrupt)) throw e;
      assert.ok(k < s.interrupts.length, 'interrupted more often than planned');
    }
  }
}

/** A lazy sampler that draws from the stream batch by batch (like the specialists' enriched batches). */
function lazySampler(n: number, B: number): BatchSampler {
  return {
    stepsPerEpoch: Math.ceil(n / B),
    rowsPerEpoch: Math.ceil(n / B) * B,
    *epoch(_e: number, rng: Rng) {
      for (let s = 0; s < Math.ceil(n / B); s++) {
        const b = new Int32Array(B);
        for (let i = 0; i < B; i++) b[i] = rng.int(n);
        yield b;
      }
    },
  };
}

/** An online teacher (a fixed linear map of the jittered batch), deterministic as every teacher is. */
function onlineLinearTeacher(): OnlineTeacher {
  const rng = new Rng(78);
  const W = Float32Array.from({ length: 3 * 36 }, () => rng.normal());
  return {
    classes: 3,
    identity: 'linear-78',
    async logits(x, m, out) {
      for (let i = 0; i < m; i++) for (let k = 0; k < 3; k++) {
        let s = 0;
        for (let j = 0; j < 36; j++) s += W[k * 36 + j] * x[i * 36 + j];
        out[i * 3 + k] = s;
      }
    },
  };
}

function teacherFor(data: Dataset) {
  const rng = new Rng(77);
  const logits = new Float32Array(data.n * 3);
  for (let i = 0; i < logits.length; i++) logits[i] = rng.normal() * 2;
  return { logits, classes: 3 };
}

const SCENARIOS: Scenario[] = [
  {
    name: 'SGD momentum, dropout on input and hidden, jitter, cosine; two interruptions mid-epoch',
    model: { dropout: 0.3, inputDropout: 0.1 },
    cfg: { jitter: 1 },
    every: 4,
    interrupts: [5, 14],
  },
  {
    name: 'Adam with weight decay and BatchNorm (running statistics as state)',
    model: { batchNorm: true },
    cfg: { optim: { ...DEFAULT_OPTIM, kind: 'adamw', weightDecay: 0.01 }, lr: 0.01, schedule: { kind: 'step', gamma: 0.5, stepEpochs: 1 } },
    every: 3,
    interrupts: [10],
  },
  {
    name: 'resnet:3,4 (BatchNorm statistics of every block as state), SGD momentum; interruptions mid-epoch',
    model: { spec: 'resnet:3,4' },
    cfg: {},
    every: 3,
    interrupts: [4, 13],
  },
  {
    name: 'mobilenet:3,6 (depthwise convolutions) with dropout before the head, Adam',
    model: { spec: 'mobilenet:3,6', dropout: 0.2 },
    cfg: { optim: { ...DEFAULT_OPTIM, kind: 'adam' }, lr: 0.01 },
    every: 4,
    interrupts: [9],
  },
  {
    name: 'distillation (soft targets, T=4) with the alternate hard/soft schedule',
    cfg: { loss: 'soft-ce', temperature: 4, alpha: 0.7, mix: 'alternate' },
    every: 2,
    interrupts: [7, 8, 19],
    opts: () => ({ teacher: teacherFor(DATA) }),
  },
  {
    name: 'a lazy custom sampler that draws as it goes; interruption at the last step of an epoch',
    cfg: {},
    every: 5,
    interrupts: [8, 16],
    opts: () => ({ sampler: lazySampler(DATA.n, 16) }),
  },
  {
    name: 'distillation with the teacher online on jittered batches (the targets follow the jitter stream)',
    cfg: { loss: 'soft-ce', temperature: 4, jitter: 1 },
    every: 3,
    interrupts: [6, 11],
    opts: () => ({ onlineTeacher: onlineLinearTeacher() }),
  },
  {
    name: 'an ONNX student with BatchNormalization (running statistics as state) and Dropout (seeded masks)',
    make: onnxStudent,
    cfg: {},
    every: 3,
    interrupts: [4, 13],
  },
];

describe('exact resume (in process)', () => {
  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const ref = await uninterrupted(s);
      const dir = freshDir();
      const logs: string[] = [];
      const got = await interrupted(s, dir, logs);
      assert.equal(got.attempts, s.interrupts.length + 1);
      assert.ok(logs.some((l) => l.startsWith('resuming from')), `no resume message in ${JSON.stringify(logs)}`);
      assert.ok(got.bytes.equals(ref.bytes), 'resumed weights differ from the uninterrupted run');
      assert.deepEqual(got.losses, ref.losses, 'epoch losses differ');
      // Checkpoints: latest + previous, both readable.
      const files = listCheckpoints(dir);
      assert.equal(files.length, 2, `files: ${files}`);
      for (const f of files) readCheckpoint(join(dir, f));
    });
  }

  it('resuming a finished training returns its final weights at once', async () => {
    const s = SCENARIOS[0];
    const ref = await uninterrupted(s);
    const dir = freshDir();
    await interrupted({ ...s, interrupts: [] }, dir);
    const net = makeNet(s);
    let steps = 0;
    const logs: string[] = [];
    const r = await trainNetwork(net, DATA, config(s, { checkpoint: { dir, resume: true } }), { runtime: RT, onEvent: (e) => e.type === 'step' && steps++, onLog: (t) => logs.push(t) });
    assert.equal(steps, 0);
    assert.equal(r.history.length, 3);
    assert.ok(weightBytes(net).equals(ref.bytes));
    assert.match(logs.join('\n'), /already finished/);
  });

  it('--resume with nothing saved yet starts from the beginning (and says so)', async () => {
    const s = SCENARIOS[0];
    const ref = await uninterrupted(s);
    const dir = freshDir();
    mkdirSync(dir);
    const logs: string[] = [];
    const net = makeNet(s);
    await trainNetwork(net, DATA, config(s, { checkpoint: { dir, resume: true } }), { runtime: RT, onLog: (t) => logs.push(t) });
    assert.ok(weightBytes(net).equals(ref.bytes));
    assert.match(logs.join('\n'), /no checkpoint of this training/);
  });

  it('a damaged latest checkpoint falls back to the previous one, with a message; still bitwise equal', async () => {
    const s = SCENARIOS[0];
    const ref = await uninterrupted(s);
    const dir2 = freshDir();
    const net = makeNet(s);
    await assert.rejects(
      trainNetwork(net, DATA, config(s, { checkpoint: { dir: dir2, every: 4 } }), {
        runtime: RT,
        stepEvery: 1,
        onEvent: (e) => {
          if (e.type === 'step' && (e.epoch - 1) * e.stepsPerEpoch + e.step >= 14) throw new Interrupt();
        },
      }),
      Interrupt,
    );
    const [latest] = listCheckpoints(dir2).filter((f) => !f.includes('.prev.'));
    const p = join(dir2, latest);
    const bytes = readFileSync(p);
    bytes[bytes.length >> 1] ^= 0xff; // flip a byte in the middle
    writeFileSync(p, bytes);
    const logs: string[] = [];
    const net2 = makeNet(s);
    await trainNetwork(net2, DATA, config(s, { checkpoint: { dir: dir2, every: 4, resume: true } }), { runtime: RT, onLog: (t) => logs.push(t) });
    assert.ok(weightBytes(net2).equals(ref.bytes), 'weights after falling back differ');
    const msg = logs.join('\n');
    assert.match(msg, /checksum mismatch/);
    assert.match(msg, /resuming from the previous checkpoint/);
    assert.ok(existsSync(p + '.corrupt'), 'the damaged file was not kept aside');
  });

  it('both checkpoints damaged: refused with a CheckpointError naming the files (exit code 2)', async () => {
    const s = SCENARIOS[0];
    const dir = freshDir();
    await interrupted({ ...s, interrupts: [] }, dir);
    for (const f of listCheckpoints(dir)) {
      const b = readFileSync(join(dir, f));
      writeFileSync(join(dir, f), b.subarray(0, b.length - 100)); // torn
    }
    await assert.rejects(trainNetwork(makeNet(s), DATA, config(s, { checkpoint: { dir, resume: true } }), { runtime: RT, onLog: () => {} }), (e: unknown) => {
      assert.ok(e instanceof CheckpointError && e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /no usable checkpoint/);
      assert.match(e.message, /\.prev\.dkc/);
      return true;
    });
  });

  it('resuming with a changed config is refused, naming the keys that differ', async () => {
    const s = SCENARIOS[0];
    const dir = freshDir();
    await interrupted({ ...s, interrupts: [] }, dir);
    await assert.rejects(
      trainNetwork(makeNet(s), DATA, config(s, { lr: 0.1, batch: 8, checkpoint: { dir, resume: true } }), { runtime: RT, onLog: () => {} }),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /config\.lr \(0\.05 → 0\.1\)/);
        assert.match(e.message, /config\.batch \(16 → 8\)/);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
    // Other data: named too.
    await assert.rejects(
      trainNetwork(makeNet(s), synthetic(120, 6), config(s, { checkpoint: { dir, resume: true } }), { runtime: RT, onLog: () => {} }),
      /data\.hash/,
    );
  });

  it('divergence: stops at the step with exit code 3, naming learning rate; the last checkpoint is intact and finite', async () => {
    const s: Scenario = { name: 'diverge', cfg: { lr: 1e10, schedule: { kind: 'constant' } }, every: 1, interrupts: [] };
    const dir = freshDir();
    let err: unknown;
    try {
      await trainNetwork(makeNet(s), DATA, config(s, { checkpoint: { dir, every: 1 } }), { runtime: RT, onLog: () => {} });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof DivergenceError, `expected DivergenceError, got ${String(err)}`);
    assert.equal(err.exitCode, 3);
    const m = /global step (\d+)/.exec(err.message);
    assert.ok(m, err.message);
    assert.match(err.message, /learning rate/);
    assert.match(err.message, /last good checkpoint .* is intact/);
    const step = Number(m[1]);
    assert.ok(step > 1, `diverged at step ${step}; the test wants a checkpoint before it`);
    const files = listCheckpoints(dir);
    assert.ok(files.length >= 1);
    for (const f of files) {
      const ck = readCheckpoint(join(dir, f));
      assert.ok(ck.header.progress.globalStep < step);
      assert.equal(firstNonFinite(ck.state), null, `${f} holds a non-finite value`);
    }
  });

  it('firstNonFinite finds NaN and ±Infinity, ignores integer tensors', () => {
    const m = new Map([
      ['a', tensor('float32', [3], new Float32Array([1, 2, 3]))],
      ['i', tensor('int32', [1], new Int32Array([7]))],
    ]);
    assert.equal(firstNonFinite(m), null);
    for (const bad of [NaN, Infinity, -Infinity]) {
      m.set('b', tensor('float32', [2], new Float32Array([0, bad])));
      assert.deepEqual(firstNonFinite(m), { name: 'b', index: 1, value: bad });
    }
  });
});

describe('checkpoint format', () => {
  const header = {
    name: 'x',
    createdAt: 'now',
    identity: { model: {}, config: {}, data: { hash: 'h', n: 1, shape: [1], classes: 2 }, teacher: null, labeled: true, sampler: { stepsPerEpoch: 1, rowsPerEpoch: 1, custom: false }, init: 'i', state: [] },
    progress: { epoch: 0, stepInEpoch: 1, globalStep: 1, epochStartShuffle: [1, 2, 3, 4] as [number, number, number, number], rngs: { shuffle: [1, 2, 3, 4] as [number, number, number, number], dropout: [5, 6, 7, 8] as [number, number, number, number], jitter: [9, 10, 11, 12] as [number, number, number, number] }, lossSum: 0.1, correct: 3, lr: 0.5, epochSeconds: 0 },
    history: [{ type: 'epoch', trainAccuracy: NaN, loss: Infinity }],
  };
  const state = new Map([
    ['w', tensor('float32', [2, 3], new Float32Array([1, -2, 3.5, 1e-30, -0, 7]))],
    ['m', tensor('float32', [1], new Float32Array([0.25]))],
  ]);
  const bytes = encodeCheckpoint(header, state);

  it('round-trips header (NaN and Infinity included) and tensors bitwise', () => {
    const d = decodeCheckpoint(bytes, 'mem');
    assert.deepEqual(d.header.progress, header.progress);
    assert.ok(Number.isNaN((d.header.history[0] as { trainAccuracy: number }).trainAccuracy));
    assert.equal((d.header.history[0] as { loss: number }).loss, Infinity);
    for (const [k, v] of state) assert.deepEqual(Buffer.from((d.state.get(k)!.data as Float32Array).buffer), Buffer.from((v.data as Float32Array).buffer));
  });

  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['empty', () => Buffer.alloc(0), /truncated/],
    ['truncated', (b) => b.subarray(0, b.length - 7), /checksum mismatch/],
    ['one flipped bit in a tensor', (b) => ((b[b.length - 40] ^= 1), b), /checksum mismatch/],
    ['wrong magic', (b) => ((b[0] = 0x50), b), /wrong magic/],
    ['a newer version', (b) => (b.writeUInt32LE(99, 8), b), /version 99/],
  ];
  for (const [name, mutate, re] of cases) {
    it(`refuses a checkpoint: ${name}`, () => {
      assert.throws(() => decodeCheckpoint(mutate(Buffer.from(bytes)), 'f.dkc'), (e: unknown) => e instanceof CheckpointError && re.test(e.message) && e.message.includes('f.dkc'));
    });
  }
});

describe('SIGKILL', () => {
  const work = tempDir('dk-kill-');
  after(work.cleanup);

  /**
   * Run `dk cmd` with checkpoints every 3 steps, SIGKILL it at one seeded random moment in each of
   * `stretches` (global-step ranges), resume each time, and return the final model's path.
   */
  async function killAndResume(cmd: string, flags: string[], out: string, ck: string, stretches: [number, number][], seed: number): Promise<string[]> {
    const rng = new Rng(seed);
    const targets = stretches.map(([lo, hi]) => lo + rng.int(hi - lo));
    const kills: string[] = [];
    let lastStep = -1;
    let done = false;
    for (let attempt = 0; attempt <= targets.length && !done; attempt++) {
      // (A resumed run keeps the checkpoint interval of the run it resumes.)
      const args = [cmd, ...flags, '--out', out, ...(attempt === 0 ? ['--checkpoint-dir', ck, '--checkpoint-every', '3'] : ['--resume', ck])];
      const child = spawn(process.execPath, [fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      let exitCode: number | null | undefined;
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r((exitCode = c))));
      let killedAt = '';
      if (attempt < targets.length) {
        const t0 = Date.now();
        while (exitCode === undefined && latestStep(ck) < targets[attempt] && Date.now() - t0 < 90_000) await sleep(3);
        await sleep(rng.int(40));
        if (exitCode === undefined) {
          child.kill('SIGKILL');
          killedAt = `target ${targets[attempt]}, checkpoint at ${latestStep(ck)} when killed`;
        }
      }
      const code = await exited;
      if (killedAt && code === null) {
        kills.push(killedAt);
        const step = latestStep(ck);
        assert.ok(step >= lastStep, `checkpoint went back from ${lastStep} to ${step}`);
        lastStep = step;
        // Whatever moment the kill hit, every checkpoint file is whole.
        for (const f of listCheckpoints(ck)) readCheckpoint(join(ck, f));
      } else {
        assert.equal(code, 0, stderr);
        done = true;
      }
    }
    assert.ok(done, 'the run never finished');
    return kills;
  }

  it('dk train killed at seeded random moments and resumed each time ends bitwise equal to an uninterrupted run', { timeout: 240_000 }, async () => {
    const data = join(work.dir, 'data');
    mkdirSync(data);
    writeMiniMnist(data, { nTrain: 1200, nTest: 40, rows: 10, cols: 10, classes: 4, seed: 3 });
    const flags = ['--model', 'mlp:32', '--data', data, '--epochs', '3', '--batch', '16', '--dropout', '0.2', '--jitter', '1', '--threads', '1', '--seed', '5', '--quiet'];
    const ref = await dk(['train', ...flags, '--out', join(work.dir, 'ref.onnx')], { timeoutMs: 120_000 });
    assert.equal(ref.code, 0, ref.stderr);
    const out = join(work.dir, 'resumed.onnx');
    // 225 steps in all (1200/16 × 3 epochs). One seeded kill target in each of four stretches
    // of the run; each attempt is killed a random 0–40 ms after its checkpoints pass the target,
    // so kills land mid-step, mid-checkpoint-write, at evaluation, …
    const kills = await killAndResume('train', flags, out, join(work.dir, 'ck'), [[6, 50], [60, 110], [120, 165], [175, 215]], 2024);
    assert.ok(kills.length >= 3, `only ${kills.length} kills landed: ${kills.join('; ')}`);
    console.log(`# kill test: ${kills.length} SIGKILLs (${kills.join('; ')}), then finished`);
    const a = Network.fromOnnx(readFileSync(join(work.dir, 'ref.onnx')));
    const b = Network.fromOnnx(readFileSync(out));
    assert.ok(weightBytes(a).equals(weightBytes(b)), 'final weights differ from the uninterrupted run');
    assert.ok(readFileSync(join(work.dir, 'ref.onnx')).equals(readFileSync(out)), 'model files differ');
  });

  it('dk distill with the teacher online on jittered inputs, killed and resumed, ends bitwise equal to an uninterrupted run', { timeout: 240_000 }, async () => {
    const data = join(work.dir, 'data-kd');
    mkdirSync(data);
    writeMiniMnist(data, { nTrain: 800, nTest: 40, rows: 10, cols: 10, classes: 4, seed: 4 });
    const teacher = join(work.dir, 'kd-teacher.onnx');
    const t = await dk(['train', '--model', 'mlp:24', '--data', data, '--epochs', '1', '--threads', '1', '--seed', '2', '--quiet', '--out', teacher], { timeoutMs: 120_000 });
    assert.equal(t.code, 0, t.stderr);
    const flags = ['--teacher', teacher, '--student', 'mlp:16', '--data', data, '--epochs', '2', '--batch', '16', '--jitter', '1', '--teacher-mode', 'online', '--temperature', '3', '--threads', '1', '--seed', '9', '--quiet', '--no-report'];
    const ref = join(work.dir, 'kd-ref.onnx');
    const r = await dk(['distill', ...flags, '--out', ref], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = join(work.dir, 'kd-resumed.onnx');
    // 100 steps in all (800/16 × 2 epochs); the teacher runs on every jittered batch.
    const kills = await killAndResume('distill', flags, out, join(work.dir, 'ck-kd'), [[6, 35], [45, 70], [75, 92]], 77);
    assert.ok(kills.length >= 2, `only ${kills.length} kills landed: ${kills.join('; ')}`);
    console.log(`# online-teacher kill test: ${kills.length} SIGKILLs (${kills.join('; ')}), then finished`);
    assert.ok(readFileSync(ref).equals(readFileSync(out)), 'model files differ from the uninterrupted run');
  });

  it('a process killed while writing a large file with writeFileAtomic leaves the old file or a complete new one', { timeout: 120_000 }, async () => {
    const target = join(work.dir, 'model.bin');
    const script = fileURLToPath(new URL('./writer.js', import.meta.url));
    const rng = new Rng(7);
    let tornSeen = 0;
    for (let round = 0; round < 5; round++) {
      // Version 0: the file as it stood before.
      const init = await runNode([target, '0', '1'], { script, timeoutMs: 30_000 });
      assert.equal(init.code, 0, init.stderr);
      const child = spawn(process.execPath, [script, target, '1', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let written = 0;
      child.stdout.on('data', (d: Buffer) => (written += String(d).split('\n').filter((l) => l.startsWith('wrote')).length));
      let closed = false;
      const exited = new Promise((r) => child.on('close', r)).then(() => (closed = true));
      // Wait for a write in progress (its temporary file exists) after a seeded number of
      // completed writes, then kill within a few ms: mid-write, before the rename.
      const after = round % 3;
      const t0 = Date.now();
      while (!closed && Date.now() - t0 < 30_000 && !(written >= after && tempsOf(work.dir).length > 0)) await sleep(1);
      await sleep(rng.int(8));
      child.kill('SIGKILL');
      await exited;
      const v = checkVersionFile(readFileSync(target));
      assert.ok(v >= 0, 'the target is torn');
      assert.ok(v >= written, `version ${v} is older than the ${written} writes reported complete`);
      tornSeen += tempsOf(work.dir).length;
      // The half-written temporary file of the killed writer is cleaned up by the next writer.
      removeStaleTemps(work.dir);
      assert.deepEqual(readdirSync(work.dir).filter((n) => n.startsWith('.model.bin.')), []);
    }
    console.log(`# atomic-write kill test: 5 kills, target always whole; ${tornSeen} of them mid-write (a half-written temporary file left, then removed)`);
    assert.ok(tornSeen >= 1, 'no kill landed mid-write');
  });
});

const tempsOf = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.model.bin.') && n.endsWith('.tmp'));

/** The global step of the latest readable checkpoint in `dir`, or -1. */
function latestStep(dir: string): number {
  let best = -1;
  for (const f of listCheckpoints(dir)) {
    try {
      best = Math.max(best, readCheckpoint(join(dir, f)).header.progress.globalStep);
    } catch {
      /* being replaced */
    }
  }
  return best;
}

/** Layout of writer.js's files: u32 version, u32 length, payload, sha256. Returns the version or -1. */
function checkVersionFile(b: Buffer): number {
  if (b.length < 40) return -1;
  const v = b.readUInt32LE(0);
  const n = b.readUInt32LE(4);
  if (b.length !== 8 + n + 32) return -1;
  const sha = createHash('sha256').update(b.subarray(0, 8 + n)).digest();
  if (!sha.equals(b.subarray(8 + n))) return -1;
  for (let i = 0; i < n; i += 4096) if (b[8 + i] !== (v + i / 4096) % 251) return -1;
  return v;
}
