/**
 * The "Distil here" live chart on a canvas: the loss of every step (line, left axis) and the
 * held-out error rate after each epoch (points, right axis), over the run's steps. Browser only.
 */
export interface ChartData {
  /** Loss of step i+1. */
  losses: readonly number[];
  /** Held-out error rate (0..1) after each epoch, at the step it ended. */
  heldOut: readonly { step: number; rate: number }[];
  /** Steps the run will take (the x axis' extent). */
  totalSteps: number;
}

const LOSS = '#3b6fb6';
const HELD = '#c4572e';

/** A round step ≥ v: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** Four round intervals covering [lo, hi]; from 0 unless the values sit far from it (a loss with the teacher's entropy in it). */
function axis(lo: number, hi: number): [number, number] {
  if (!(hi > lo)) return [0, hi > 0 ? niceStep(hi) * 4 : 1];
  const from = lo > 0.5 * hi ? lo : 0;
  for (let step = niceStep((hi - from) / 4); ; step = niceStep(step * 1.01)) {
    const a = Math.floor(from / step) * step;
    if (a + 4 * step >= hi) return [a, a + 4 * step];
  }
}

export function drawChart(canvas: HTMLCanvasElement, d: ChartData): void {
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width;
  const H = canvas.height;
  const L = 56;
  const R = 56;
  const T = 28;
  const B = 36;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const steps = Math.max(1, d.totalSteps, d.losses.length);
  const finite = d.losses.filter(Number.isFinite);
  const [lossLo, lossHi] = finite.length ? axis(Math.min(...finite), Math.max(...finite)) : [0, 1];
  const [, rateMax] = axis(0, Math.max(0.05, ...d.heldOut.map((h) => h.rate)));
  const x = (s: number) => L + ((W - L - R) * s) / steps;
  const yl = (v: number) => H - B - ((H - T - B) * (v - lossLo)) / (lossHi - lossLo);
  const yr = (v: number) => H - B - ((H - T - B) * v) / rateMax;
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#e3e3e3';
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const yy = H - B - ((H - T - B) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(L, yy);
    ctx.lineTo(W - R, yy);
    ctx.stroke();
    ctx.fillStyle = LOSS;
    ctx.textAlign = 'right';
    ctx.fillText(String(Number((lossLo + ((lossHi - lossLo) * i) / 4).toPrecision(4))), L - 6, yy);
    ctx.fillStyle = HELD;
    ctx.textAlign = 'left';
    ctx.fillText(`${Number(((100 * rateMax * i) / 4).toPrecision(3))}%`, W - R + 6, yy);
  }
  ctx.fillStyle = '#555';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let i = 0; i <= 4; i++) ctx.fillText(String(Math.round((steps * i) / 4)), x((steps * i) / 4), H - B + 6);
  ctx.fillText('step', (L + W - R) / 2, H - 14);
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillStyle = LOSS;
  ctx.fillText('loss (each step)', L, 16);
  ctx.fillStyle = HELD;
  ctx.textAlign = 'right';
  ctx.fillText('held-out error (each epoch)', W - R, 16);
  ctx.strokeStyle = LOSS;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  d.losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i + 1), yl(v)) : ctx.lineTo(x(i + 1), yl(v))));
  ctx.stroke();
  ctx.strokeStyle = HELD;
  ctx.fillStyle = HELD;
  ctx.beginPath();
  d.heldOut.forEach((h, i) => (i === 0 ? ctx.moveTo(x(h.step), yr(h.rate)) : ctx.lineTo(x(h.step), yr(h.rate))));
  ctx.stroke();
  for (const h of d.heldOut) {
    ctx.beginPath();
    ctx.arc(x(h.step), yr(h.rate), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }
}
