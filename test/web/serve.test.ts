/**
 * `dk serve` over a tiny `dk paper` run, and its page in Debian's headless Chromium
 * (playwright-core): the page loads cleanly and requests nothing off 127.0.0.1; a test image
 * painted onto its canvas, and a digit drawn with the mouse, get the same probabilities in the
 * page (onnxruntime-web) as in Node (onnxruntime-node) to 1e-4; the server refuses paths out of
 * its directories. Screenshots: runs/web-browser/tiny/ (or $DK_WEB_ARTIFACTS), printed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../src/report/browser.js';
import { Runner } from '../../src/runtime/session.js';
import { type WebManifest, decodeSamples, pixelsToInput, softmaxT, topK } from '../../src/web/format.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = process.env.DK_WEB_ARTIFACTS ?? fileURLToPath(new URL('../../../runs/web-browser/', import.meta.url));
const dir = join(root, 'tiny');
const outside = join(tmpdir(), `dk-serve-outside-${process.pid}`);
const SECRET = 'outside-secret-9f3a';
let server: ChildProcess;
let url: string;

before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const r = spawnSync(process.execPath, [CLI, 'paper', '--profile', 'tiny', '--out', dir, '--threads', '1', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  // Something outside the run directory, reachable from inside it only through symlinks.
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'web', 'link.txt'));
  symlinkSync(outside, join(dir, 'web', 'linkdir'));
  writeFileSync(join(root, 'sibling.txt'), SECRET); // next to the run directory
  server = spawn(process.execPath, [CLI, 'serve', '--dir', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    let err = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) ok(m[1]);
    });
    server.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    server.on('exit', (code) => fail(new Error(`dk serve exited with ${code}: ${err}`)));
    setTimeout(() => fail(new Error(`dk serve printed no URL: ${out} ${err}`)), 20_000);
  });
});

after(() => {
  server?.kill('SIGTERM');
  rmSync(outside, { recursive: true, force: true });
});

/** GET with the path sent exactly as written (fetch would normalise '..' away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('dk serve refuses paths out of its directories: .., percent-encoded .., symlinks out', async () => {
  assert.equal((await rawGet('/run/web/manifest.json')).status, 200);
  assert.equal((await rawGet('/ort/ort-wasm-simd-threaded.wasm')).status, 200);
  const refused = [
    '/run/../sibling.txt',
    '/run/web/../../sibling.txt',
    '/run/%2e%2e/sibling.txt',
    '/run/%2E%2E%2Fsibling.txt',
    '/run/..%2fsibling.txt',
    '/run/web%2f..%2f..%2fsibling.txt',
    '/run/..%5csibling.txt',
    '/app/../../../package.json',
    '/app/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/ort/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/run/web/link.txt',
    '/run/web/linkdir/secret.txt',
    '/run/%252e%252e/sibling.txt',
    '/run/web/manifest.json%00.png',
    '/../../../../etc/passwd',
    '/etc/passwd',
  ];
  for (const p of refused) {
    const r = await rawGet(p);
    assert.ok(r.status === 403 || r.status === 404 || r.status === 400, `${p}: status ${r.status}`);
    assert.ok(!r.body.includes(SECRET) && !r.body.includes('"name": "dark-knowledge"') && !r.body.includes('root:'), `${p}: leaked content`);
  }
  assert.equal((await rawGet('/run/web/link.txt')).status, 403);
  assert.equal((await rawGet('/run/%2e%2e/sibling.txt')).status, 403);
});

test('dk serve: a missing run directory is a usage error (exit 2) naming --dir', () => {
  const r = spawnSync(process.execPath, [CLI, 'serve', '--dir', join(outside, 'nope'), '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--dir \S*nope: not a directory/);
  const p = spawnSync(process.execPath, [CLI, 'serve', '--dir', dir, '--port', 'x'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /--port: expected an integer/);
});

test('the look-inside page: clean load, nothing off 127.0.0.1, and the same probabilities as onnxruntime-node to 1e-4', { timeout: 60_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const manifest = JSON.parse(readFileSync(join(dir, 'web', 'manifest.json'), 'utf8')) as WebManifest;
  const samples = decodeSamples(readFileSync(join(dir, 'web', 'samples.bin')));
  const runners = await Promise.all(manifest.models.map((m) => Runner.create(join(dir, 'web', m.file))));
  const nodeLogits = async (px: ArrayLike<number>): Promise<number[][]> =>
    Promise.all(
      runners.map(async (r) => {
        const o = await r.runFloat({ name: r.inputNames[0], type: 'float32', dims: [1, px.length], data: pixelsToInput(px) }, r.outputNames[0]);
        return [...o.data];
      }),
    );
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  const origin = new URL(url).origin;
  const consoleErrors: string[] = [];
  const offsite: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) offsite.push(u);
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    type Res = { role: string; logits: number[]; probs: number[]; top3: { cls: number; p: number }[]; ms: number }[];
    const compare = (label: string, got: Res, want: number[][], T: number) => {
      assert.equal(got.length, 2);
      for (const [m, g] of got.entries()) {
        const p = softmaxT(want[m], T);
        const top = topK(p, 3);
        assert.deepEqual(g.top3.map((x) => x.cls), top.map((x) => x.cls), `${label} ${g.role}: top-3 classes`);
        for (const [k, x] of g.top3.entries()) assert.ok(Math.abs(x.p - top[k].p) <= 1e-4, `${label} ${g.role}: top-${k + 1} p ${x.p} vs ${top[k].p}`);
        for (let c = 0; c < p.length; c++) assert.ok(Math.abs(g.probs[c] - p[c]) <= 1e-4, `${label} ${g.role}: class ${c} p ${g.probs[c]} vs ${p[c]}`);
        assert.ok(g.ms >= 0 && Number.isFinite(g.ms));
      }
    };
    const px = samples.height * samples.width;
    for (const i of [0, 1, 2, 7]) {
      // Picked in the page's menu: painted onto the canvas, then classified from the canvas's pixels.
      await page.selectOption('#sample', String(i));
      const got = (await page.evaluate(() => (window as unknown as { dk: { classify(): Promise<unknown> } }).dk.classify())) as Res;
      compare(`test image ${i}`, got, await nodeLogits(samples.pixels.subarray(i * px, (i + 1) * px)), 1);
    }
    // The temperature slider: softmax(z/20) of the same logits.
    const hot = (await page.evaluate(() => (window as unknown as { dk: { setT(t: number): unknown } }).dk.setT(20))) as Res;
    compare('test image 7 at T=20', hot, await nodeLogits(samples.pixels.subarray(7 * px, 8 * px)), 20);
    await page.evaluate(() => (window as unknown as { dk: { setT(t: number): unknown } }).dk.setT(1));
    // A digit drawn with the mouse: the page's answer equals Node's on the canvas's pixels.
    await page.click('#clear');
    const box = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(box.x + 0.5 * box.width, box.y + 0.2 * box.height);
    await page.mouse.down();
    for (const [fx, fy] of [[0.5, 0.5], [0.5, 0.8], [0.45, 0.85]]) await page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 6 });
    await page.mouse.up();
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('pad') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return Array.from({ length: c.width * c.height }, (_, i) => d[4 * i]);
    });
    assert.ok(drawn.filter((v) => v > 0).length > 10, 'the stroke drew nothing on the canvas');
    const gotDrawn = (await page.evaluate(() => (window as unknown as { dk: { classify(): Promise<unknown> } }).dk.classify())) as Res;
    compare('drawn digit', gotDrawn, await nodeLogits(drawn), 1);
    const shot = join(dir, 'look-inside.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    assert.ok(statSync(shot).size > 20_000, 'screenshot too small to be the page');
    const text = await page.locator('#models').innerText();
    assert.match(text, /teacher: mlp:64,64/);
    assert.match(text, /student: mlp:32/);
    assert.match(text, /weights, .* KiB; \d+ test errors; inference \d+\.\d+ ms in this page/);
  } finally {
    await browser.close();
    for (const r of runners) await r.release();
  }
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(offsite, []);
});
