/**
 * `dk serve`'s server: node:http on 127.0.0.1 only, GET/HEAD of files under three roots and
 * nothing else:
 *   /            the page (dist/web/index.html), /app/… the bundle (dist/web/)
 *   /ort/…       onnxruntime-web's .wasm and loader .mjs (copied to dist/web/ort/ by the build)
 *   /run/…       the run directory (its web/ files: models, samples, manifest; its report)
 * A path is decoded once; a segment that is '..' or '.', or holds a slash, backslash or NUL
 * after decoding, is refused (403), and the file's real path (symlinks resolved) must lie
 * inside the root's real path (else 403): nothing outside the roots is ever opened.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/errors.js';
import { MANIFEST, WEB_DIR } from './format.js';

/** The built page and bundle (scripts/bundle.mjs writes them): dist/web/, seen from dist/src/web/serve.js. */
export const APP_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

export type Resolved = { status: 200; file: string } | { status: 400 | 403 | 404; reason: string };

/** Map a URL path under `root` (the part after the route prefix, still percent-encoded) to a file, or say why not. */
export function resolveUnder(root: string, encodedRest: string): Resolved {
  const segs: string[] = [];
  for (const raw of encodedRest.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { status: 400, reason: 'bad percent-encoding' };
    }
    if (seg === '..' || seg === '.' || /[/\\\0]/.test(seg)) return { status: 403, reason: `segment '${raw}' refused` };
    segs.push(seg);
  }
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return { status: 404, reason: 'no such root' };
  }
  const candidate = join(realRoot, ...segs);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return { status: 403, reason: 'outside the served directory' };
  let st;
  try {
    st = statSync(real);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  if (st.isDirectory()) {
    const index = join(real, 'index.html');
    if (existsSync(index) && realpathSync(index).startsWith(realRoot + sep)) return { status: 200, file: realpathSync(index) };
    return { status: 404, reason: 'a directory' };
  }
  if (!st.isFile()) return { status: 404, reason: 'not a file' };
  return { status: 200, file: real };
}

export interface ServeOptions {
  dir: string;
  port: number;
  /** Where the page and bundle are (default APP_DIR). */
  appDir?: string;
}

export interface Serving {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Check the run directory and the built app, then listen on 127.0.0.1:port (0: any free port). */
export async function serveRun(o: ServeOptions): Promise<Serving> {
  const dir = resolve(o.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError({ param: 'dir', value: o.dir, detail: 'not a directory; run `npm start` (dk paper --out runs/paper) first' });
  if (!existsSync(join(dir, WEB_DIR, MANIFEST))) throw new UsageError({ param: 'dir', value: o.dir, detail: `${join(WEB_DIR, MANIFEST)} not found: expected a run directory written by dk paper (npm start)` });
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UsageError({ param: 'port', value: String(o.port), detail: 'expected an integer 0..65535' });
  const app = resolve(o.appDir ?? APP_DIR);
  if (!existsSync(join(app, 'index.html')) || !existsSync(join(app, 'ort'))) throw new UsageError(`dk serve: the page is not built (${app} has no index.html or ort/); run npm run build`);
  const routes: [string, string][] = [
    ['/run/', dir],
    ['/ort/', join(app, 'ort')],
    ['/app/', app],
  ];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : `${status} ${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0].split('#')[0];
    if (!path.startsWith('/')) return send(400, 'bad request');
    let r: Resolved;
    if (path === '/' || path === '/index.html') r = resolveUnder(app, 'index.html');
    else {
      const route = routes.find(([p]) => path.startsWith(p));
      r = route ? resolveUnder(route[1], path.slice(route[0].length)) : { status: 404, reason: 'not found' };
    }
    if (r.status !== 200) return send(r.status, r.reason);
    const file = r.file;
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };
  const server = createServer(handler);
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new UsageError({ param: 'port', value: String(o.port), detail: 'in use on 127.0.0.1; pick another (or 0 for any free port)' }) : e));
    server.listen(o.port, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
