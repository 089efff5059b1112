/**
 * The page (bundled to dist/web/app.js by scripts/bundle.mjs; served by dk serve).
 * "Look inside" loads the run's manifest, its teacher and student ONNX files and test images,
 * runs both models on the 28×28 canvas through the runtime's onnxruntime-web backend, and shows
 * softmax(z/T); "Distil here" (distil-view.ts) trains a student in a Web Worker.
 * Browser only; window.dk exposes the state for the browser tests.
 */
import { Runner, useWebBackend } from '../runtime/web.js';
import { setupDistil, setupTabs } from './distil-view.js';
import { MANIFEST, WEB_DIR, type Samples, type WebManifest, type WebModel, decodeSamples, pixelsToInput, softmaxT, topK } from './format.js';

interface Loaded {
  model: WebModel;
  runner: Runner;
  input: { name: string; dims: number[] };
  output: string;
  el: HTMLElement;
}

export interface Classified {
  role: string;
  logits: number[];
  probs: number[];
  top3: { cls: number; p: number }[];
  ms: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const base = `/run/${WEB_DIR}/`;

async function fetchBytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function status(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

async function main(): Promise<void> {
  useWebBackend('/ort/');
  setupTabs();
  const manifest = (await (await fetch(base + MANIFEST)).json()) as WebManifest;
  const distil = setupDistil(manifest, base);
  const samples: Samples = decodeSamples(await fetchBytes(base + manifest.samples.file));
  const pad = $<HTMLCanvasElement>('pad');
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const H = samples.height;
  const W = samples.width;
  pad.width = W;
  pad.height = H;

  const loaded: Loaded[] = [];
  for (const m of manifest.models) {
    const bytes = await fetchBytes(base + m.file);
    const runner = await Runner.create(bytes);
    const inp = runner.io.inputs[0];
    const dims = inp.shape.map((d) => (typeof d === 'number' ? d : 1));
    if (dims.reduce((a, b) => a * b, 1) !== H * W) throw new Error(`${m.file}: input ${inp.name} [${inp.shape.join(', ')}] does not take one ${H}×${W} image`);
    const el = document.createElement('div');
    el.className = 'model';
    el.dataset.role = m.role;
    el.innerHTML = `<h2></h2><div class="meta"></div><div class="bars"></div>`;
    el.querySelector('h2')!.textContent = `${m.role}: ${m.spec}`;
    $('models').append(el);
    loaded.push({ model: m, runner, input: { name: inp.name, dims }, output: runner.outputNames[0], el });
  }

  let T = 1;
  let last: { role: string; logits: number[]; ms: number }[] = [];

  const render = (): Classified[] => {
    const out: Classified[] = [];
    for (const [i, l] of loaded.entries()) {
      const r = last[i];
      if (!r) continue;
      const probs = softmaxT(r.logits, T);
      const top3 = topK(probs, 3);
      const top = new Set(top3.slice(0, 1).map((t) => t.cls));
      const m = l.model;
      l.el.querySelector('.meta')!.textContent = `${m.weights.toLocaleString('en')} weights, ${(m.bytes / 1024).toFixed(1)} KiB; ${m.testErrors} test errors; inference ${r.ms.toFixed(2)} ms in this page`;
      const bars = l.el.querySelector('.bars')!;
      bars.replaceChildren(
        ...probs.map((p, k) => {
          const row = document.createElement('div');
          row.className = top.has(k) ? 'bar top' : 'bar';
          row.innerHTML = `<span></span><div><div class="fill"></div></div><span></span>`;
          (row.children[0] as HTMLElement).textContent = manifest.classNames[k] ?? String(k);
          (row.children[1].firstChild as HTMLElement).style.width = `${(p * 100).toFixed(2)}%`;
          (row.children[2] as HTMLElement).textContent = p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
          return row;
        }),
      );
      out.push({ role: r.role, logits: r.logits, probs, top3, ms: r.ms });
    }
    return out;
  };

  /** Classify what the canvas shows: its red channel, 0..255 → [0,1], as the data loader scales pixels. */
  const classify = async (): Promise<Classified[]> => {
    const img = ctx.getImageData(0, 0, W, H).data;
    const px = new Uint8Array(W * H);
    for (let i = 0; i < px.length; i++) px[i] = img[4 * i];
    const x = pixelsToInput(px);
    const res: { role: string; logits: number[]; ms: number }[] = [];
    for (const l of loaded) {
      const t0 = performance.now();
      const o = await l.runner.runFloat({ name: l.input.name, type: 'float32', dims: l.input.dims, data: x }, l.output);
      res.push({ role: l.model.role, logits: [...o.data], ms: performance.now() - t0 });
    }
    last = res;
    return render();
  };

  const paintSample = (i: number): void => {
    if (!(i >= 0 && i < samples.n)) throw new RangeError(`test image ${i}: expected 0..${samples.n - 1}`);
    const img = ctx.createImageData(W, H);
    for (let k = 0; k < W * H; k++) {
      const v = samples.pixels[i * W * H + k];
      img.data.set([v, v, v, 255], 4 * k);
    }
    ctx.putImageData(img, 0, 0);
  };

  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, W, H);
  };
  clear();

  const sel = $<HTMLSelectElement>('sample');
  sel.append(new Option('—', ''));
  for (let i = 0; i < samples.n; i++) sel.append(new Option(`#${i} (label ${manifest.classNames[samples.labels[i]] ?? samples.labels[i]})`, String(i)));
  sel.addEventListener('change', () => {
    if (sel.value === '') return;
    paintSample(Number(sel.value));
    void classify();
  });
  $('clear').addEventListener('click', () => {
    clear();
    sel.value = '';
    void classify();
  });

  // Drawing: a soft round brush at the canvas's own 28×28 resolution.
  let drawing = false;
  let prev: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * W, ((e.clientY - r.top) / r.height) * H];
  };
  const stroke = (a: [number, number], b: [number, number]) => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2.2;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    ctx.stroke();
  };
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    sel.value = '';
    pad.setPointerCapture(e.pointerId);
    prev = at(e);
    stroke(prev, prev);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing || !prev) return;
    const p = at(e);
    stroke(prev, p);
    prev = p;
  });
  pad.addEventListener('pointerup', () => {
    drawing = false;
    prev = null;
    void classify();
  });

  // Temperature: 1..Tmax on a log scale (Tmax: the run's distillation T, at least 20).
  const Tmax = Math.max(20, manifest.temperature);
  const temp = $<HTMLInputElement>('temp');
  const setT = (t: number) => {
    T = t;
    $('tval').textContent = t < 10 ? t.toFixed(2) : t.toFixed(1);
    return render();
  };
  temp.addEventListener('input', () => void setT(Math.exp((Number(temp.value) / 1000) * Math.log(Tmax))));

  paintSample(0);
  sel.value = '0';
  await classify();
  status(`${loaded.length} models loaded from ${base} (run temperature T=${manifest.temperature}); onnxruntime-web (WebAssembly, 1 thread)`);
  (window as unknown as { dk: unknown }).dk = { classify, paintSample, setT, samples: samples.n, distil, ready: true };
  document.body.dataset.ready = 'true';
}

main().catch((e: Error) => {
  status(`error: ${e.message}`, true);
  console.error(e);
});
