// The browser build (run by `npm run build` after tsc): bundles src/web/app.ts with esbuild into
// dist/web/app.js, copies the page and onnxruntime-web's wasm runtime (dist/web/ort/).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'ort'), { recursive: true });
await build({
  entryPoints: [join(root, 'src/web/app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/web/static/index.html'), join(out, 'index.html'));
const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
for (const f of ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']) copyFileSync(join(ortDist, f), join(out, 'ort', f));
