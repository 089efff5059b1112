/**
 * The page (bundled to dist/web/app.js by scripts/bundle.mjs; served by dk serve).
 * "Look inside" loads the run's manifest, its teacher and student ONNX files and test images,
 * runs both models on the 28×28 canvas through the runtime's onnxruntime-web backend, and shows
 * softmax(z/T); "Distil here" (distil-view.ts) trains a student in a Web Worker.
 * Browser only; window.dk exposes the state for the browser tests.
 */
import { Runner, useWebBackend } from '../runtime/web.js';
import { setupDistil, setupTabs } from './distil-view.js';
import { MANIFEST, WEB_DIR, type Samples, type WebManifest, decodeSamples, pixelsToInput, softmaxT, topK } from './format.js';
import { type OwnModel, loadOwnModel, runOwnModel } from './own-model.js';

/** A model on the page: the run's teacher or student, or the user's own (dropped or picked). */
interface Loaded {
  role: string;
  el: HTMLElement;
  classNames: () => string[];
  /** Scores for one image's pixels in [0,1]. */
  scores: (x: Float32Array) => Promise<number[]>;
  describe: (ms: number) => string;
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
  const card = (role: string, title: string): HTMLElement => {
    const el = document.createElement('div');
    el.className = 'model';
    el.dataset.role = role;
    el.innerHTML = `<h2></h2><div class="meta"></div><div class="bars"></div>`;
    el.querySelector('h2')!.textContent = title;
    return el;
  };
  for (const m of manifest.models) {
    const bytes = await fetchBytes(base + m.file);
    const runner = await Runner.create(bytes);
    const inp = runner.io.inputs[0];
    const dims = inp.shape.map((d) => (typeof d === 'number' ? d : 1));
    if (dims.reduce((a, b) => a * b, 1) !== H * W) throw new Error(`${m.file}: input ${inp.name} [${inp.shape.join(', ')}] does not take one ${H}×${W} image`);
    const el = card(m.role, `${m.role}: ${m.spec}`);
    $('models').append(el);
    const output = runner.outputNames[0];
    loaded.push({
      role: m.role,
      el,
      classNames: () => manifest.classNames,
      scores: async (x) => [...(await runner.runFloat({ name: inp.name, type: 'float32', dims, data: x }, output)).data],
      describe: (ms) => `${m.weights.toLocaleString('en')} weights, ${(m.bytes / 1024).toFixed(1)} KiB; ${m.testErrors} test errors; inference ${ms.toFixed(2)} ms in this page`,
    });
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
      l.el.querySelector('.meta')!.textContent = l.describe(r.ms);
      const names = l.classNames();
      const bars = l.el.querySelector('.bars')!;
      bars.replaceChildren(
        ...probs.map((p, k) => {
          const row = document.createElement('div');
          row.className = top.has(k) ? 'bar top' : 'bar';
          row.innerHTML = `<span></span><div><div class="fill"></div></div><span></span>`;
          (row.children[0] as HTMLElement).textContent = names[k] ?? String(k);
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
      const logits = await l.scores(x);
      res.push({ role: l.role, logits, ms: performance.now() - t0 });
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

  // Your own model: an .onnx dropped on the models or picked in the file input joins them (one at a time).
  let own: { model: OwnModel; entry: Loaded } | null = null;
  const num = (id: string, fallback: number) => {
    const v = Number($<HTMLInputElement>(id).value);
    return Number.isFinite(v) ? v : fallback;
  };
  const addOwn = async (file: File): Promise<void> => {
    const std = num('ownstd', 1);
    if (!(std > 0)) {
      status(`your model: std must be a positive number, got ${$<HTMLInputElement>('ownstd').value}`, true);
      return;
    }
    status(`loading ${file.name}…`);
    let m: OwnModel;
    try {
      m = await loadOwnModel(file.name, new Uint8Array(await file.arrayBuffer()), H, W);
    } catch (e) {
      status((e as Error).message, true);
      return;
    }
    if (own) {
      loaded.splice(loaded.indexOf(own.entry), 1);
      own.entry.el.remove();
      await own.model.runner.release();
    }
    const el = card('own', `your model: ${file.name}`);
    $('models').append(el);
    const entry: Loaded = {
      role: 'own',
      el,
      classNames: () => m.classNames ?? [],
      scores: (x) => runOwnModel(m, x, { mean: num('ownmean', 0), std: num('ownstd', 1) }),
      describe: (ms) => `${(m.bytes / 1024).toFixed(1)} KiB; input '${m.input.name}' [${m.input.dims.join(', ')}] ${m.input.type}, output '${m.output}'; inference ${ms.toFixed(2)} ms in this page`,
    };
    own = { model: m, entry };
    loaded.push(entry);
    await classify();
    status(`${file.name} loaded: ${m.classNames?.length ?? '?'} classes`);
  };
  const ownInput = $<HTMLInputElement>('own');
  ownInput.addEventListener('change', () => {
    const f = ownInput.files?.[0];
    if (f) void addOwn(f);
  });
  const zone = $('view-inside');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('dropping');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dropping'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dropping');
    const f = e.dataTransfer?.files?.[0];
    if (f) void addOwn(f);
  });

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
