// The native kernels' addon (run by `npm run build` after tsc): compiles native/src/*.cc into
// build/native/dk_native.node with g++, against the N-API headers (Node's, or the node-api-headers
// package) and oneDNN's (Debian: `apt-get install libdnnl-dev`). Where any of them is missing it says so and builds
// nothing: the engine then trains with onnxruntime's own formulations (slower conv steps, same
// results). DK_NATIVE=0 skips the build as well; DK_NATIVE=1 makes a missing piece an error.
// Rebuilds only when a source is newer than the addon; the addon is written to a temporary
// file and renamed into place.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native', 'src');
const outDir = join(root, 'build', 'native');
const out = join(outDir, 'dk_native.node');
const want = process.env.DK_NATIVE;

function skip(reason) {
  if (want === '1') {
    console.error(`build-native: cannot build the native kernels: ${reason} (DK_NATIVE=1 asks for them)`);
    process.exit(1);
  }
  // A stale addon from an earlier build must not be picked up by a build that skipped.
  rmSync(out, { force: true });
  console.log(`build-native: native kernels not built (${reason}); conv training uses onnxruntime's kernels`);
  process.exit(0);
}

if (want === '0') skip('DK_NATIVE=0');
if (process.platform !== 'linux' || process.arch !== 'x64') skip(`only linux-x64 is supported, this is ${process.platform}-${process.arch}`);
const cxx = process.env.CXX || 'g++';
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) skip(`no C++ compiler (${cxx})`);
// Node's own headers where it has them, else the node-api-headers package (a devDependency: the
// N-API headers alone, which is all the addon includes)
const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', join(root, 'node_modules', 'node-api-headers', 'include')].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (!nodeInclude) skip('no N-API headers (node_api.h): neither next to node nor in node_modules/node-api-headers');
const dnnlHeader = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].find((f) => existsSync(f));
if (!dnnlHeader) skip('oneDNN is not installed (Debian: apt-get install libdnnl-dev)');

const sources = readdirSync(srcDir).filter((f) => f.endsWith('.cc')).map((f) => join(srcDir, f));
const inputs = [...sources, ...readdirSync(srcDir).filter((f) => f.endsWith('.h')).map((f) => join(srcDir, f)), join(root, 'native', 'ort_abi.h'), fileURLToPath(import.meta.url)];
if (existsSync(out) && inputs.every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs)) {
  console.log('build-native: up to date');
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const args = [
  '-std=c++17', '-O3', '-fPIC', '-shared', '-fopenmp', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-psabi',
  `-I${nodeInclude}`, `-I${dirname(dnnlHeader)}/../..`,
  ...sources, '-o', tmp, '-ldnnl', '-ldl',
];
const t0 = Date.now();
try {
  execFileSync(cxx, args, { stdio: 'inherit' });
} catch {
  rmSync(tmp, { force: true });
  console.error(`build-native: ${cxx} failed (command: ${cxx} ${args.join(' ')})`);
  process.exit(1);
}
renameSync(tmp, out);
console.log(`build-native: built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
