import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { Network } from '/work/main/dist/src/train/network.js';
const FIX = '/work/main/test/fixtures/students/';
const ref = JSON.parse(readFileSync(FIX + 'reference.json', 'utf8'));
const N = ref.y.length;
const net = Network.fromStudentFile(new Uint8Array(readFileSync(FIX + 'resnet-train.onnx')), 'x');
const targets = new Float32Array(N * 10); ref.y.forEach((y, i) => (targets[i * 10 + y] = 1));
const feeds = { input: new ort.Tensor('float32', Float32Array.from(ref.x), [N, 1, 28, 28]), targets: new ort.Tensor('float32', targets, [N, 10]) };
for (const s of net.paramSpecs) feeds[s.name] = new ort.Tensor('float32', net.params.get(s.name), s.dims);
for (const s of net.bufferSpecs) feeds[s.name] = new ort.Tensor('float32', net.buffers.get(s.name), s.dims);
const out = {};
for (const [f, lvl] of [['/tmp/dk/orig.onnx', 'disabled'], ['/tmp/dk/orig.onnx', 'basic'], ['/tmp/dk/opt.onnx', 'disabled']]) {
  const s = await ort.InferenceSession.create(f, { graphOptimizationLevel: lvl, intraOpNumThreads: 1, ...(process.env.OPTS ? JSON.parse(process.env.OPTS) : {}) });
  const o = await s.run(feeds);
  out[f + lvl] = o['grad:net.stem.0.weight'].data;
  console.log(f, lvl, Array.from(out[f + lvl].slice(0, 4)).map((v) => v.toFixed(6)).join(' '));
  await s.release();
}
console.log('ref', ref.grad0['stem.0.weight'].slice(0, 4));
