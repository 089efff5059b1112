/**
 * The runtime on onnxruntime-node: the only module that imports it. Everything else is
 * backend-neutral (core.ts); the browser bundle uses web.ts (onnxruntime-web) instead. Where the
 * native kernels are built (runtime/native.ts), their sessions are installed too.
 */
import * as ort from 'onnxruntime-node';
import { setNativeSessions, setOrtBackend } from './core.js';
import { loadNative } from './native.js';

setOrtBackend(ort, 'onnxruntime-node');
const native = loadNative(ort.Tensor);
setNativeSessions(native.factory);

/** Why the native kernels are not in use ('' where they are). */
export const nativeUnavailable = native.reason;

export * from './core.js';
