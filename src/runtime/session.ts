/**
 * The runtime on onnxruntime-node: the only module that imports it. Everything else is
 * backend-neutral (core.ts); the browser bundle uses web.ts (onnxruntime-web) instead.
 */
import * as ort from 'onnxruntime-node';
import { setOrtBackend } from './core.js';

setOrtBackend(ort, 'onnxruntime-node');

export * from './core.js';
