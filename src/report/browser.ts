import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../util/atomic.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a closed network: no first-run, sync, update or background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChartCheck {
  id: string;
  rendered: boolean;
  points: number;
}

export interface BrowserCheck {
  charts: ChartCheck[];
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests for anything but file: and data: URLs (an offline page makes none). */
  externalRequests: string[];
  layout: LayoutCheck;
}

/** What sticks out sideways at the viewport's width. */
export interface LayoutCheck {
  viewportWidth: number;
  /** The page's scrollWidth: more than the viewport means the page scrolls sideways. */
  pageScrollWidth: number;
  /** Every table's container: its width, and whether it scrolls its table sideways itself. */
  tableContainers: { table: string; width: number; right: number; scrollWidth: number; scrolls: boolean }[];
  /** Elements (outside horizontally scrolling containers) reaching past the viewport's right edge: 'tag.class (right px)'. */
  overflowing: string[];
}

export interface BrowserCheckOptions {
  executablePath?: string;
  /** How long to wait for the page's script to finish drawing, ms. */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
}

/**
 * Open a report from disk (file:// URL) in headless Chromium through playwright-core, wait for
 * its charts, and return each [data-chart] element's data-rendered/data-points, the console
 * errors, the uncaught page errors and any network request the page tried. Saves a full-page PNG
 * screenshot at `screenshotPath` (written atomically).
 */
export async function checkReportInBrowser(htmlPath: string, screenshotPath: string, options: BrowserCheckOptions = {}): Promise<BrowserCheck> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `checkReportInBrowser: Chromium not found at ${executablePath}. Install Debian's package (apt-get install -y chromium), as .ci/run does.`,
    );
  }
  if (!existsSync(htmlPath)) throw new Error(`checkReportInBrowser: no report at ${htmlPath}`);
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`checkReportInBrowser: playwright-core is not installed (a devDependency): ${(e as Error).message}`);
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const externalRequests: string[] = [];
  try {
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith('file:') && !url.startsWith('data:')) externalRequests.push(url);
    });
    await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: 'load' });
    try {
      await page.waitForFunction(() => document.documentElement.dataset.reportReady === 'true', undefined, { timeout: options.timeoutMs ?? 30_000 });
    } catch {
      pageErrors.push('report script did not finish (data-report-ready never set)');
    }
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((el) => {
        const h = el as HTMLElement;
        return { id: h.dataset.chart ?? '', rendered: h.dataset.rendered === 'true', points: Number(h.dataset.points ?? '0') };
      }),
    );
    const layout = await page.evaluate((): LayoutCheck => {
      const vw = document.documentElement.clientWidth;
      const name = (el: Element) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : ''}`;
      const scrollsX = (el: Element) => {
        const o = getComputedStyle(el).overflowX;
        return o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip';
      };
      const insideScroller = (el: Element) => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (scrollsX(p)) return true;
        return false;
      };
      const tableContainers = [...document.querySelectorAll('table')].map((t, i) => {
        const c = t.parentElement as HTMLElement;
        const r = c.getBoundingClientRect();
        const o = getComputedStyle(c).overflowX;
        return { table: `${i}: ${name(c)} > ${name(t)}`, width: r.width, right: r.right, scrollWidth: c.scrollWidth, scrolls: o === 'auto' || o === 'scroll' };
      });
      const overflowing: string[] = [];
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= vw + 0.5 || insideScroller(el)) continue;
        overflowing.push(`${name(el)} (right ${Math.round(r.right)} px)`);
      }
      return { viewportWidth: vw, pageScrollWidth: document.documentElement.scrollWidth, tableContainers, overflowing };
    });
    const png = await page.screenshot({ fullPage: true, type: 'png' });
    mkdirSync(dirname(resolve(screenshotPath)), { recursive: true });
    writeFileAtomic(screenshotPath, png);
    return { charts, consoleErrors, pageErrors, externalRequests, layout };
  } finally {
    await browser.close();
  }
}

/**
 * What is wrong with a page's layout at its viewport's width: the page scrolling sideways, an
 * element reaching past the right edge outside a scrolling container, a table whose container is
 * wider than the viewport or does not scroll it. Empty when the page fits.
 */
export function layoutProblems(l: LayoutCheck): string[] {
  const out: string[] = [];
  if (l.pageScrollWidth > l.viewportWidth) out.push(`the page is ${l.pageScrollWidth} px wide at a ${l.viewportWidth} px viewport`);
  for (const o of l.overflowing) out.push(`past the right edge: ${o}`);
  for (const c of l.tableContainers) {
    if (c.width > l.viewportWidth || c.right > l.viewportWidth + 0.5) out.push(`table container ${c.table} is ${Math.round(c.width)} px wide, right edge at ${Math.round(c.right)} px`);
    if (!c.scrolls) out.push(`table container ${c.table} does not scroll sideways`);
  }
  return out;
}
