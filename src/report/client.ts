/* eslint-disable @typescript-eslint/no-explicit-any */
import type { ChartSpec, Format } from './charts.js';

/**
 * The report page's script. It runs in the browser, not in Node: renderReport embeds its source
 * (`clientMain.toString()`), so it must not use anything from outside its own body except the
 * DOM and the global `Chart` (the inlined Chart.js UMD bundle). It reads the chart specs from
 * <script id="dk-data" type="application/json">, draws every chart, and marks each container
 * with data-rendered="true" and data-points="<values drawn>" — or data-rendered="false" and a
 * console error when drawing failed.
 */
declare const Chart: any;

export interface ClientData {
  charts: ChartSpec[];
  digits: { id: string; image: number[][] }[];
}

export function clientMain(): void {
  const dataEl = document.getElementById('dk-data');
  if (!dataEl || !dataEl.textContent) throw new Error('report: chart data missing');
  const data = JSON.parse(dataEl.textContent) as ClientData;

  /** Decimals that write every tick of an evenly spaced axis exactly and alike (0.025 → 3). */
  const stepDecimals = (ticks: { value: number }[] | undefined, scale: number): number | null => {
    if (!ticks || ticks.length < 2) return null;
    const step = Math.abs(ticks[1].value - ticks[0].value) * scale;
    if (!(step > 0)) return null;
    for (let d = 0; d <= 8; d++) {
      const q = step * 10 ** d;
      if (Math.abs(q - Math.round(q)) < 1e-6 * Math.max(1, q)) return d;
    }
    return 8;
  };
  const fixed = (v: number, d: number): string => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  /** A number as the report writes it; `ticks` (an evenly spaced axis's ticks) fixes the decimals for the whole axis. */
  const fmt = (f: Format | undefined, v: number, ticks?: { value: number }[]): string => {
    if (!Number.isFinite(v)) return '';
    switch (f) {
      case 'int':
        return Math.round(v).toLocaleString('en-US');
      case 'pct': {
        const d = stepDecimals(ticks, 100);
        return d === null ? `${+(100 * v).toPrecision(3)}%` : `${fixed(100 * v, d)}%`;
      }
      case 'prob': {
        // The rule of fmtProb (derive.ts): decimals down to 0.001, then m×10⁻ⁿ.
        if (!(v > 0)) return '0';
        if (v >= 0.001) return v >= 0.995 ? '1' : String(+v.toPrecision(2));
        const sup: Record<string, string> = { '-': '\u207b', '0': '\u2070', '1': '\u00b9', '2': '\u00b2', '3': '\u00b3', '4': '\u2074', '5': '\u2075', '6': '\u2076', '7': '\u2077', '8': '\u2078', '9': '\u2079' };
        const [m, x] = v.toExponential(1).split('e');
        const mant = m.endsWith('.0') ? m.slice(0, -2) : m;
        const pow = `10${x.replace('+', '').replace(/./g, (c) => sup[c] ?? c)}`;
        return mant === '1' ? pow : `${mant}\u00d7${pow}`;
      }
      case 'sec':
        return v < 120 ? `${+v.toFixed(1)} s` : v < 7200 ? `${+(v / 60).toFixed(1)} min` : `${+(v / 3600).toFixed(2)} h`;
      default: {
        const d = stepDecimals(ticks, 1);
        return d === null ? String(+v.toPrecision(3)) : fixed(v, d);
      }
    }
  };
  /** Powers of ten from lo to hi, every other one when there are more than six. */
  const decades = (lo: number, hi: number): { value: number }[] => {
    const e0 = Math.floor(Math.log10(lo) + 1e-9);
    const e1 = Math.ceil(Math.log10(hi) - 1e-9);
    const step = e1 - e0 > 6 ? 2 : 1;
    const out: { value: number }[] = [];
    for (let e = e1; e >= e0; e -= step) out.push({ value: 10 ** e });
    return out.reverse();
  };

  const style = getComputedStyle(document.documentElement);
  Chart.defaults.font.family = style.getPropertyValue('--font').trim() || 'system-ui, sans-serif';
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#475569';
  Chart.defaults.borderColor = '#e2e8f0';

  // Reference lines and shaded bands (paper values, chosen offsets), drawn under/over the data.
  Chart.register({
    id: 'dkMarks',
    beforeDatasetsDraw(chart: any, _args: unknown, opts: any) {
      const { ctx, chartArea: a, scales } = chart;
      for (const b of opts.bands ?? []) {
        const x0 = Math.max(a.left, scales.x.getPixelForValue(b.from));
        const x1 = Math.min(a.right, scales.x.getPixelForValue(b.to));
        if (!(x1 > x0)) continue;
        ctx.save();
        ctx.fillStyle = b.color;
        ctx.fillRect(x0, a.top, x1 - x0, a.bottom - a.top);
        ctx.fillStyle = '#92400e';
        ctx.font = `11px ${Chart.defaults.font.family}`;
        ctx.textAlign = 'center';
        ctx.fillText(b.label, (x0 + x1) / 2, a.bottom - 8);
        ctx.restore();
      }
    },
    afterDatasetsDraw(chart: any, _args: unknown, opts: any) {
      const { ctx, chartArea: a, scales } = chart;
      let yIndex = 0;
      for (const m of opts.marks ?? []) {
        const scale = m.axis === 'x' ? scales.x : scales.y;
        if (!scale || m.value < scale.min || m.value > scale.max) continue;
        const p = scale.getPixelForValue(m.value);
        ctx.save();
        ctx.strokeStyle = m.color;
        ctx.lineWidth = 1.25;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        if (m.axis === 'x') {
          ctx.moveTo(p, a.top);
          ctx.lineTo(p, a.bottom);
        } else {
          ctx.moveTo(a.left, p);
          ctx.lineTo(a.right, p);
        }
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.font = `600 11px ${Chart.defaults.font.family}`;
        const w = ctx.measureText(m.label).width + 8;
        let lx: number;
        let ly: number;
        if (m.axis === 'x') {
          lx = Math.min(a.right - w, Math.max(a.left, p + 4));
          ly = a.top + 4 + (yIndex++ % 2) * 18;
        } else if (m.labelAt === 'start') {
          lx = a.left + 4 + (yIndex++ % 3) * (w + 6);
          ly = p - 17;
        } else {
          lx = a.right - w - 4 - (yIndex++ % 3) * (w + 6);
          ly = p - 17;
        }
        ctx.fillStyle = 'rgba(255,255,255,0.88)';
        ctx.fillRect(lx, ly, w, 16);
        ctx.fillStyle = m.color;
        ctx.textBaseline = 'middle';
        ctx.fillText(m.label, lx + 4, ly + 8);
        ctx.restore();
      }
    },
  });

  const axisOptions = (s: ChartSpec['y'], position?: string, grid = true): any => {
    const o: any = {
      type: s.type,
      position,
      title: { display: !!s.title, text: s.title, font: { weight: '600' } },
      grid: { display: grid },
      ticks: {},
    };
    // Setting callback to undefined would replace Chart.js's own label callback: only set it for numbers.
    if (s.type !== 'category') o.ticks.callback = (v: number, _i: number, ticks: { value: number }[]) => fmt(s.format, v, s.type === 'linear' ? ticks : undefined);
    if (s.suggestedMin !== undefined) o.suggestedMin = s.suggestedMin;
    if (s.suggestedMax !== undefined) o.suggestedMax = s.suggestedMax;
    if (s.stepSize !== undefined) o.ticks.stepSize = s.stepSize;
    if (s.min !== undefined) o.min = s.min;
    if (s.max !== undefined) o.max = s.max;
    if (s.beginAtZero) o.beginAtZero = true;
    if (s.ticks && s.type !== 'category') {
      const ticks = s.ticks;
      o.afterBuildTicks = (scale: any) => {
        scale.ticks = ticks.filter((t) => t >= scale.min - 1e-12 && t <= scale.max + 1e-12).map((value) => ({ value }));
      };
    } else if (s.type === 'logarithmic' && s.format === 'prob') {
      o.afterBuildTicks = (scale: any) => {
        if (scale.type === 'logarithmic') scale.ticks = decades(scale.min, scale.max);
      };
    }
    return o;
  };

  const configFor = (spec: ChartSpec): any => {
    const valueAxis = spec.horizontal ? 'x' : 'y';
    const catAxis = spec.horizontal ? 'y' : 'x';
    const datasets = spec.series.map((s) => {
      const n = s.data.length;
      const base: any = {
        label: s.label,
        data: s.data,
        borderColor: s.color,
        backgroundColor: s.color,
      };
      if (spec.kind === 'line') {
        Object.assign(base, {
          borderWidth: 2,
          pointRadius: s.pointRadius ?? (n > 16 ? 0 : 2.5),
          pointHoverRadius: 5,
          borderDash: s.dashed === 'dotted' ? [2, 3] : s.dashed ? [6, 4] : undefined,
          yAxisID: s.axis ?? 'y',
          spanGaps: true,
        });
        // Markers at the ends of an axis (sweeps set min/max to their first and last point) are drawn whole.
        if (s.pointRadius !== undefined) base.clip = s.pointRadius + 3;
        if (s.area) Object.assign(base, { borderWidth: 0, pointRadius: 0, pointHoverRadius: 0, fill: s.area === 'upper' ? '-1' : false });
      } else {
        Object.assign(base, { borderRadius: 4, maxBarThickness: 46, borderWidth: 0 });
        if (s.overlay) base.grouped = false;
        if (s.barThickness) base.barThickness = s.barThickness;
      }
      return base;
    });
    const scales: any = {};
    scales[catAxis] = axisOptions(spec.x, undefined, spec.x.type !== 'category');
    scales[valueAxis] = axisOptions(spec.y);
    if (spec.y2) scales.y2 = { ...axisOptions(spec.y2, 'right', false) };
    return {
      type: spec.kind,
      data: { labels: spec.labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? 'y' : 'x',
        interaction: spec.kind === 'line' ? { mode: 'nearest', axis: 'x', intersect: false } : { mode: 'index', intersect: false },
        scales,
        plugins: {
          legend: {
            display: !!spec.legend,
            position: 'bottom',
            labels:
              spec.kind === 'line'
                ? {
                    // Legend entries drawn as short lines, dashed like their series.
                    usePointStyle: true,
                    pointStyle: 'line',
                    pointStyleWidth: 26,
                    padding: 14,
                    generateLabels: (chart: any) =>
                      Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item: any) => ({
                        ...item,
                        pointStyle: 'line',
                        lineWidth: 2,
                        lineDash: chart.data.datasets[item.datasetIndex]?.borderDash ?? [],
                      })),
                  }
                : { usePointStyle: true, boxWidth: 8, boxHeight: 8, padding: 14 },
          },
          tooltip: {
            callbacks: {
              label: (item: any) => {
                const axis = item.dataset.yAxisID === 'y2' ? spec.y2 : spec.y;
                if (Array.isArray(item.raw)) {
                  const [from, to] = item.raw as number[];
                  const how = spec.series[item.datasetIndex]?.tooltip ?? 'range';
                  return `${item.dataset.label}: ${how === 'mid' ? fmt(axis?.format, (from + to) / 2) : `${fmt(axis?.format, from)}–${fmt(axis?.format, to)}`}`;
                }
                const v = spec.horizontal ? item.parsed.x : item.parsed.y;
                return `${item.dataset.label}: ${fmt(axis?.format, v)}`;
              },
            },
          },
          dkMarks: { marks: spec.marks ?? [], bands: spec.bands ?? [] },
        },
      },
    };
  };

  const finiteCount = (spec: ChartSpec, chart: any): number => {
    let n = 0;
    spec.series.forEach((s, i) => {
      const meta = chart.getDatasetMeta(i);
      const elements = meta && meta.data ? meta.data.length : 0;
      let finite = 0;
      for (const d of s.data as any[]) {
        if (Array.isArray(d)) {
          if (d.every((v: unknown) => typeof v === 'number' && Number.isFinite(v))) finite++;
          continue;
        }
        const v = d !== null && typeof d === 'object' ? d.y : d;
        if (typeof v === 'number' && Number.isFinite(v)) finite++;
      }
      n += Math.min(elements, finite);
    });
    return n;
  };

  const logCharts: { chart: any; spec: ChartSpec }[] = [];
  for (const spec of data.charts) {
    const el = document.querySelector(`[data-chart="${spec.id}"]`) as HTMLElement | null;
    if (!el) {
      console.error(`report: no container for chart ${spec.id}`);
      continue;
    }
    try {
      const canvas = document.createElement('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', el.getAttribute('data-title') ?? spec.id);
      el.appendChild(canvas);
      const chart = new Chart(canvas, configFor(spec));
      const points = finiteCount(spec, chart);
      el.dataset.points = String(points);
      el.dataset.rendered = points > 0 && chart.chartArea ? 'true' : 'false';
      if (spec.logToggle) logCharts.push({ chart, spec });
    } catch (e) {
      el.dataset.rendered = 'false';
      console.error(`report: chart ${spec.id} failed: ${(e as Error).message}`);
    }
  }

  // Test images, dark ink on the page colour, one canvas pixel per image pixel (CSS scales it up).
  for (const d of data.digits) {
    const el = document.querySelector(`[data-chart="${d.id}"]`) as HTMLElement | null;
    if (!el) continue;
    const h = d.image.length;
    const w = d.image[0]?.length ?? 0;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    if (!ctx) continue;
    const img = ctx.createImageData(w, h);
    const bg = [248, 250, 252];
    const ink = [30, 27, 75];
    let drawn = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = d.image[y][x] / 255;
        const k = 4 * (y * w + x);
        for (let c = 0; c < 3; c++) img.data[k + c] = Math.round(bg[c] * (1 - a) + ink[c] * a);
        img.data[k + 3] = 255;
        drawn++;
      }
    }
    ctx.putImageData(img, 0, 0);
    el.appendChild(canvas);
    el.dataset.points = String(drawn);
    el.dataset.rendered = drawn > 0 ? 'true' : 'false';
  }

  // Static SVG heatmaps: verify their cells are in the DOM.
  document.querySelectorAll<HTMLElement>('[data-chart][data-kind="svg"]').forEach((el) => {
    const cells = el.querySelectorAll('rect.cell').length;
    el.dataset.points = String(cells);
    el.dataset.rendered = cells > 0 ? 'true' : 'false';
  });

  // Log / linear toggle for the probability charts.
  document.querySelectorAll<HTMLButtonElement>('[data-scale]').forEach((btn) => {
    btn.addEventListener('click', () => {
      const log = btn.dataset.scale === 'log';
      document.querySelectorAll<HTMLButtonElement>('[data-scale]').forEach((b) => b.setAttribute('aria-pressed', String(b === btn)));
      for (const { chart, spec } of logCharts) {
        const y = chart.options.scales.y;
        y.type = log ? 'logarithmic' : 'linear';
        y.min = log ? spec.y.min : 0;
        y.max = 1;
        y.title.text = log ? 'probability (log)' : 'probability';
        chart.update();
      }
    });
  });
  document.documentElement.dataset.reportReady = 'true';
}
