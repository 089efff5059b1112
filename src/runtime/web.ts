/**
 * The runtime on onnxruntime-web (WebAssembly), for the browser bundle (src/web/): the same
 * Runner and StepRunner as in Node (core.ts). Import no Node API here or in anything this
 * imports. The .wasm and its loader .mjs are served from `wasmPaths` (dk serve: /ort/).
 */
import * as ort from 'onnxruntime-web/wasm';
import { setOrtBackend } from './core.js';

/**
 * Point onnxruntime-web at its wasm files, single-threaded (threads need cross-origin isolation),
 * then install it (it does not write into preallocated outputs: see BackendTraits).
 */
export function useWebBackend(wasmPaths: string): void {
  ort.env.wasm.wasmPaths = wasmPaths;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  setOrtBackend(ort, 'onnxruntime-web', { writesPreallocatedOutputs: false });
}

export * from './core.js';
