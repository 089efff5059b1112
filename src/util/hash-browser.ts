/**
 * The browser bundle's form of hash.ts (scripts/bundle.mjs swaps it in): there is no node:crypto
 * there, and nothing the page runs needs a hash (only an ONNX student given as a file does).
 */
export function sha256Hex(..._parts: (Uint8Array | string)[]): string {
  throw new Error('sha256Hex: not available in the browser bundle (it uses node:crypto)');
}
