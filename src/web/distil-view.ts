/**
 * The "Distil here" view: reads the form, starts the training worker (distil-worker.ts) and
 * draws what it reports (chart.ts); Stop asks the worker to end after its current step group;
 * the finished student is offered as a .onnx download. A request the engine refuses (a bad
 * spec, T ≤ 0, α outside [0,1], …) comes back as the worker's one-line message, shown in the
 * view. Browser only.
 */
import { drawChart } from './chart.js';
import type { DistilRequest } from './distil.js';
import type { DistilMessage } from './distil-worker.js';
import type { WebManifest } from './format.js';

/** What the view shows at the end of a run (window.dk.distil.outcome, for the browser tests). */
export interface DistilOutcome {
  request: DistilRequest;
  losses: number[];
  epochs: { epoch: number; loss: number; heldOutErrors: number; heldOutTotal: number }[];
  steps: number;
  stopped: boolean;
  seconds: number;
  heldOutErrors: number;
  heldOutTotal: number;
  bytes: number;
  fileName: string;
}

export interface DistilView {
  /** The last run's outcome (null before the first, or while one runs). */
  outcome: DistilOutcome | null;
  /** 'idle' | 'running' | 'done' | 'stopped' | 'error' (also #dstatus's data-state). */
  state: string;
  /** Steps reported so far in the current run. */
  stepsSoFar: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A number field: empty is NaN (so the engine's check names it), anything else as Number() reads it. */
const num = (id: string): number => {
  const v = $<HTMLInputElement>(id).value.trim();
  return v === '' ? NaN : Number(v);
};

export function setupDistil(manifest: WebManifest, base: string): DistilView {
  const view: DistilView = { outcome: null, state: 'idle', stepsSoFar: 0 };
  const status = $('dstatus');
  const train = $<HTMLButtonElement>('dtrain');
  const stop = $<HTMLButtonElement>('dstop');
  const download = $<HTMLAnchorElement>('ddownload');
  const summary = $('dsummary');
  const chart = $<HTMLCanvasElement>('chart');
  const setStatus = (state: string, text: string) => {
    view.state = state;
    status.dataset.state = state;
    status.className = state === 'error' ? 'error' : '';
    status.textContent = text;
  };
  $<HTMLInputElement>('dT').value = String(manifest.temperature);
  const d = manifest.distil;
  if (!d) {
    $('dsource').textContent = 'this run has none (it was written before the page could train; run dk paper again)';
    train.disabled = true;
    setStatus('error', 'no distil.bin in this run');
    return view;
  }
  $('dsource').textContent = `${d.description} (${d.n - d.heldOut} to train on, ${d.heldOut} held out)`;

  let worker: Worker | null = null;
  let url: string | null = null;
  let losses: number[] = [];
  let epochs: DistilOutcome['epochs'] = [];
  let totalSteps = 0;
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      drawChart(chart, { losses, heldOut: epochs.map((e, i) => ({ step: Math.round(((i + 1) * totalSteps) / Math.max(1, request.epochs)), rate: e.heldOutErrors / e.heldOutTotal })), totalSteps });
    });
  };
  let request: DistilRequest;
  const finish = () => {
    worker?.terminate();
    worker = null;
    train.disabled = false;
    stop.disabled = true;
  };

  const onMessage = (m: DistilMessage) => {
    switch (m.type) {
      case 'started':
        totalSteps = m.steps;
        setStatus('running', `training ${request.spec} (${m.weights.toLocaleString('en')} weights: ${m.describe}) on ${m.train} examples, ${m.steps} steps…`);
        redraw();
        break;
      case 'step':
        losses.push(m.loss);
        view.stepsSoFar = losses.length;
        setStatus('running', `step ${m.step}/${totalSteps} (epoch ${m.epoch}/${request.epochs}): loss ${m.loss.toFixed(4)}`);
        redraw();
        break;
      case 'epoch':
        epochs.push({ epoch: m.epoch, loss: m.loss, heldOutErrors: m.heldOutErrors, heldOutTotal: m.heldOutTotal });
        summary.textContent = epochs.map((e) => `epoch ${e.epoch}: mean loss ${e.loss.toFixed(4)}, held-out errors ${e.heldOutErrors}/${e.heldOutTotal}`).join(' · ');
        redraw();
        break;
      case 'done': {
        const fileName = `student-${request.spec.replace(/[^A-Za-z0-9]+/g, '-')}-T${request.temperature}-a${request.alpha}-seed${request.seed}.onnx`;
        if (url) URL.revokeObjectURL(url);
        url = URL.createObjectURL(new Blob([m.onnx as BlobPart], { type: 'application/octet-stream' }));
        download.href = url;
        download.download = fileName;
        download.textContent = `Download student (.onnx, ${(m.onnx.length / 1024).toFixed(1)} KiB)`;
        download.hidden = false;
        view.outcome = { request, losses: [...losses], epochs: [...epochs], steps: m.steps, stopped: m.stopped, seconds: m.seconds, heldOutErrors: m.heldOutErrors, heldOutTotal: m.heldOutTotal, bytes: m.onnx.length, fileName };
        const pct = ((100 * m.heldOutErrors) / m.heldOutTotal).toFixed(2);
        setStatus(m.stopped ? 'stopped' : 'done', `${m.stopped ? 'stopped' : 'done'} after ${m.steps} steps in ${m.seconds.toFixed(1)} s (${(m.steps / m.seconds).toFixed(0)} steps/s): held-out errors ${m.heldOutErrors}/${m.heldOutTotal} (${pct}%)`);
        finish();
        redraw();
        break;
      }
      case 'error':
        setStatus('error', m.message);
        finish();
        break;
    }
  };

  train.addEventListener('click', () => {
    if (worker) return;
    request = { spec: $<HTMLInputElement>('dspec').value, temperature: num('dT'), alpha: num('dalpha'), epochs: num('depochs'), batch: num('dbatch'), lr: num('dlr'), seed: num('dseed') };
    losses = [];
    epochs = [];
    totalSteps = 0;
    view.outcome = null;
    view.stepsSoFar = 0;
    summary.textContent = '';
    download.hidden = true;
    train.disabled = true;
    stop.disabled = false;
    setStatus('running', 'starting the worker…');
    redraw();
    worker = new Worker('/app/distil-worker.js', { type: 'module' });
    worker.onmessage = (ev: MessageEvent<DistilMessage>) => onMessage(ev.data);
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      setStatus('error', `the training worker failed: ${ev.message || 'it could not start'}`);
      finish();
    };
    worker.postMessage({ type: 'start', request, data: base + d.file });
  });
  stop.addEventListener('click', () => {
    if (!worker) return;
    worker.postMessage({ type: 'stop' });
    stop.disabled = true;
    setStatus('running', `stopping after the current step group (step ${losses.length})…`);
  });
  drawChart(chart, { losses: [], heldOut: [], totalSteps: 0 });
  return view;
}

/** The two views as tabs. */
export function setupTabs(): void {
  const tabs: [HTMLElement, HTMLElement][] = [
    [$('tab-inside'), $('view-inside')],
    [$('tab-distil'), $('view-distil')],
  ];
  for (const [tab] of tabs) {
    tab.addEventListener('click', () => {
      for (const [t, v] of tabs) {
        t.setAttribute('aria-selected', String(t === tab));
        v.hidden = t !== tab;
      }
    });
  }
}
