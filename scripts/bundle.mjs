// The browser build (run by `npm run build` after tsc): bundles the page (src/web/app.ts) and its
// training worker (src/web/distil-worker.ts) with esbuild into dist/web/, copies the page and
// onnxruntime-web's wasm runtime (dist/web/ort/).
//
// The worker runs the engine's own modules (graph, autodiff, nn, optim, train/loop.ts). Two of
// the modules they import have a browser form, swapped in here as package.json's "browser" field
// would: the runtime (onnxruntime-node → onnxruntime-web; both export core.ts's Runner and
// StepRunner) and the hash (node:crypto; only an imported ONNX student needs it, never the
// page). Any other Node built-in reached from the bundle fails the build, naming its importer,
// and so does a module of ours in the bundle that uses Node's globals (process, Buffer).
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const BROWSER_FORMS = {
  'src/runtime/session.ts': 'src/runtime/web.ts',
  'src/util/hash.ts': 'src/util/hash-browser.ts',
};
const nodeBuiltins = new Set(builtinModules);

const browserForms = {
  name: 'browser-forms',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const p = args.path;
      if (p.startsWith('node:') || nodeBuiltins.has(p.split('/')[0])) {
        return { errors: [{ text: `${relative(root, args.importer)} imports the Node built-in '${p}', which the browser bundle cannot have` }] };
      }
      if (!p.startsWith('.') || !args.importer.startsWith(join(root, 'src'))) return undefined;
      const ts = relative(root, resolve(args.resolveDir, p)).replace(/\.js$/, '.ts');
      const form = BROWSER_FORMS[ts];
      return form ? { path: join(root, form) } : undefined;
    });
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'ort'), { recursive: true });
const result = await build({
  entryPoints: { app: join(root, 'src/web/app.ts'), 'distil-worker': join(root, 'src/web/distil-worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [browserForms],
  metafile: true,
});
const nodeGlobals = [];
for (const input of Object.keys(result.metafile.inputs)) {
  if (!input.startsWith('src/')) continue;
  const code = readFileSync(join(root, input), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const m = /\b(process|Buffer)\s*\./.exec(code);
  if (m) nodeGlobals.push(`${input} uses Node's ${m[1]}`);
}
if (nodeGlobals.length) throw new Error(`the browser bundle takes modules that need Node: ${nodeGlobals.join('; ')}`);
copyFileSync(join(root, 'src/web/static/index.html'), join(out, 'index.html'));
const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
for (const f of ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs']) copyFileSync(join(ortDist, f), join(out, 'ort', f));
