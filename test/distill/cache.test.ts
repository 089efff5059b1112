/**
 * The teacher-output cache: rows indexed by example id (a shuffled subset gets the right rows,
 * through the cache and through the trainer), reused on the second call, recomputed when the
 * data changes or the file is corrupt.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeCache, gatherRows, teacherTargets } from '../../src/distill/cache.js';
import { logSoftmaxRows, temperedFromLogits } from '../../src/distill/targets.js';
import type { Dataset } from '../../src/data/dataset.js';
import { subset } from '../../src/data/subset.js';
import { networkLogits } from '../../src/train/evaluate.js';
import { Network } from '../../src/train/network.js';
import { DEFAULT_TRAIN, trainNetwork } from '../../src/train/trainer.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { Rng } from '../../src/util/rng.js';
import { RT, foreignFromLinear, mnistSample, relErr, trainLinearTeacher } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dk-cache-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let train: Dataset;
let teacherNet: Network;
let spec: { teachers: { name: string; bytes: Uint8Array }[] };

function recorder() {
  const events: ProgressEvent[] = [];
  return { events, sink: (e: ProgressEvent) => events.push(e), logs: () => events.filter((e) => e.kind === 'log').map((e) => (e as { text: string }).text) };
}

describe('teacher-output cache', () => {
  before(async () => {
    ({ train } = mnistSample(600, 300));
    teacherNet = await trainLinearTeacher(train, 1);
    spec = { teachers: [{ name: 'teacher.onnx', bytes: teacherNet.toOnnx() }] };
  });

  it('computes once, reuses on the second call (no teacher run), recomputes when the data changes', async () => {
    const c = join(dir, 'reuse');
    const r1 = recorder();
    const a = await teacherTargets(spec, train, { cacheDir: c, runtime: RT, progress: r1.sink });
    assert.equal(a.fromCache, false);
    assert.ok(r1.events.some((e) => e.kind === 'start'), 'a progress bar for the teacher run');
    assert.ok(r1.logs().some((l) => /cached in/.test(l)));
    assert.deepEqual(readdirSync(c), [`${a.key}.dkt`]);
    // Row i is the log-softmax of the teacher's logits on example i.
    const z = await networkLogits(teacherNet, train, RT);
    assert.ok(relErr(a.logProbs, logSoftmaxRows(z, train.n, 10)) < 1e-6);

    const r2 = recorder();
    const b = await teacherTargets(spec, train, { cacheDir: c, runtime: RT, progress: r2.sink });
    assert.equal(b.fromCache, true);
    assert.equal(b.key, a.key);
    assert.ok(!r2.events.some((e) => e.kind === 'start'), 'no teacher run on a cache hit');
    assert.ok(r2.logs().some((l) => /read from cache/.test(l)));
    assert.deepEqual(b.logProbs, a.logProbs);
    assert.deepEqual(b.kinds, ['logits']);

    // Change one pixel: a different key, recomputed.
    const x = train.x.slice();
    x[123] = 1 - x[123];
    const changed = { ...train, x };
    const d = await teacherTargets(spec, changed, { cacheDir: c, runtime: RT });
    assert.equal(d.fromCache, false);
    assert.notEqual(d.key, a.key);
    assert.equal(readdirSync(c).length, 2);
    // Other options change the key too.
    const e = await teacherTargets({ ...spec, outputs: 'logits' }, train, { cacheDir: c, runtime: RT });
    assert.equal(e.fromCache, false);
    assert.notEqual(e.key, a.key);
  });

  it('a corrupt or truncated cache file is detected, reported and recomputed', async () => {
    const c = join(dir, 'corrupt');
    const a = await teacherTargets(spec, train, { cacheDir: c, runtime: RT });
    const file = join(c, `${a.key}.dkt`);
    const bytes = readFileSync(file);
    assert.ok('rows' in decodeCache(bytes, { key: a.key, n: train.n, C: 10 }));
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5] ^= 0x40;
    assert.deepEqual(decodeCache(flipped, { key: a.key, n: train.n, C: 10 }), { error: 'payload checksum mismatch' });
    for (const [what, bad] of [
      ['flipped', flipped],
      ['truncated', bytes.subarray(0, bytes.length - 8)],
      ['garbage', Buffer.from('not a cache')],
    ] as const) {
      writeFileSync(file, bad);
      const r = recorder();
      const b = await teacherTargets(spec, train, { cacheDir: c, runtime: RT, progress: r.sink });
      assert.equal(b.fromCache, false, what);
      assert.ok(r.logs().some((l) => /unusable/.test(l) && /recomputing/.test(l)), `${what}: ${r.logs().join('\n')}`);
      assert.deepEqual(b.logProbs, a.logProbs, what);
      assert.deepEqual(readFileSync(file), bytes, `${what}: rewritten`);
    }
  });

  it('a shuffled subset looks its rows up by example id (cache rows = teacher run on the subset itself)', async () => {
    const a = await teacherTargets({ teachers: [{ name: 'foreign.onnx', bytes: foreignFromLinear(teacherNet) }] }, train, { cacheDir: null, runtime: RT });
    const perm = new Rng(9).permutation(train.n).subarray(0, 100);
    const sub = subset(train, perm);
    assert.deepEqual(Array.from(sub.ids!), Array.from(perm));
    const gathered = gatherRows(a.logProbs, 10, sub.ids!);
    const direct = logSoftmaxRows(await networkLogits(teacherNet, sub, RT), sub.n, 10);
    assert.ok(relErr(gathered, direct) < 1e-5, `${relErr(gathered, direct)}`);
    assert.throws(() => gatherRows(a.logProbs, 10, [train.n]), /out of range/);
    await assert.rejects(teacherTargets(spec, sub, { cacheDir: null }), /as loaded/);
  });

  it('the trainer feeds, for each shuffled example, the teacher row of its id (step losses match)', async () => {
    // Teacher rows: random, distinct per example id, over the whole training sample.
    const C = 10;
    const T = 2;
    const rng = new Rng(21);
    const teacherRows = Float32Array.from({ length: train.n * C }, () => 3 * rng.normal());
    // A shuffled subset, so row r holds example ids[r] ≠ r.
    const sub = subset(train, new Rng(4).permutation(train.n).subarray(0, 48));
    // A student that does not move (lr tiny): every step's loss is the soft loss of one example.
    const net = Network.create({ spec: 'linear', inputShape: [784], classes: C, options: {} }, 5);
    const z = await networkLogits(net, sub, RT);
    const losses: number[] = [];
    await trainNetwork(net, sub, { ...DEFAULT_TRAIN, epochs: 1, batch: 1, lr: 1e-30, loss: 'soft-ce', temperature: T, seed: 3 }, {
      teacher: { logits: teacherRows, classes: C },
      labeled: false,
      runtime: RT,
      stepEvery: 1,
      onEvent: (e) => e.type === 'step' && losses.push(e.loss),
    });
    assert.equal(losses.length, sub.n);
    // Expected soft loss T²·CE(softmax(t_id/T), softmax(z_r/T)) for row r, with the right and a wrong alignment.
    const softLoss = (r: number, id: number) => {
      const p = temperedFromLogits(teacherRows.subarray(id * C, id * C + C), 1, C, T);
      const lq = logSoftmaxRows(Float64Array.from(z.subarray(r * C, r * C + C), (v) => v / T), 1, C);
      let s = 0;
      for (let k = 0; k < C; k++) s -= p[k] * lq[k];
      return T * T * s;
    };
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    const got = sorted(losses);
    const right = sorted(Array.from({ length: sub.n }, (_, r) => softLoss(r, sub.ids![r])));
    const wrong = sorted(Array.from({ length: sub.n }, (_, r) => softLoss(r, r)));
    assert.ok(relErr(got, right) < 1e-4, `step losses vs rows looked up by id: ${relErr(got, right)}`);
    assert.ok(relErr(got, wrong) > 1e-2, 'the test would notice rows looked up by position');
  });
});
