/** The "Distil here" data file (src/web/format.ts): round trip, and clear errors for a wrong or cut file. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distilData } from '../../src/web/distil.js';
import { type DistilSet, decodeDistilSet, encodeDistilSet } from '../../src/web/format.js';

const set = (n: number, C: number): DistilSet => ({
  n,
  height: 2,
  width: 3,
  classes: C,
  heldOut: 2,
  labels: Uint8Array.from({ length: n }, (_, i) => i % C),
  pixels: Uint8Array.from({ length: n * 6 }, (_, i) => (i * 37) % 256),
  logits: Float32Array.from({ length: n * C }, (_, i) => Math.fround(Math.sin(i) * 7)),
});

test('distil.bin round trip: bytes as documented (24-byte header, labels, pixels, padding to 4, float32 logits)', () => {
  const s = set(5, 3); // 24 + 5 + 30 = 59 → logits at 60
  const b = encodeDistilSet(s);
  assert.equal(b.length, 60 + 4 * 15);
  assert.equal(String.fromCharCode(...b.subarray(0, 4)), 'DKD1');
  assert.equal(new DataView(b.buffer).getFloat32(60, true), s.logits[0]);
  assert.deepEqual(decodeDistilSet(b), s);
  const d = distilData(decodeDistilSet(b));
  assert.equal(d.train.n, 3);
  assert.equal(d.heldOut.n, 2);
  assert.deepEqual([...d.heldOut.y], [0, 1]);
  assert.equal(d.teacher.logits.length, 9);
  assert.equal(d.train.x[1], Math.fround(37 / 255));
});

test('distil.bin: a wrong magic, a cut file, a bad held-out count or label are refused in one line', () => {
  const b = encodeDistilSet(set(5, 3));
  assert.throws(() => decodeDistilSet(b.subarray(0, b.length - 1)), /^RangeError: distil set: expected 120 bytes for 5 images of 2×3 and 3 classes, got 119$/);
  const m = b.slice();
  m[0] = 0x58;
  assert.throws(() => decodeDistilSet(m), /not a distil file \(expected magic DKD1, got 'XKD1'\)/);
  const h = b.slice();
  new DataView(h.buffer).setUint32(20, 5, true);
  assert.throws(() => decodeDistilSet(h), /heldOut 5 is not in 1\.\.4/);
  const l = b.slice();
  l[24] = 3;
  assert.throws(() => decodeDistilSet(l), /label 3 of image 0 is not below the 3 classes/);
  assert.throws(() => encodeDistilSet({ ...set(5, 3), heldOut: 0 }), /heldOut must be an integer in 1\.\.4, got 0/);
});
