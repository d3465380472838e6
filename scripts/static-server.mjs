/**
 * A small static file server for the demo site, the browser tests and the browser bench: 127.0.0.1 on a
 * random port, with the two headers that make a page cross-origin isolated (SharedArrayBuffer, Atomics.wait
 * in workers). `isolated: false` serves without them, to show the library's error.
 */
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves `mounts` ({ '/': dir, '/data/mnist/': dir2 }: URL prefix to directory, longest prefix first).
 * Resolves to { url, close() }.
 */
export async function startServer({ mounts, isolated = true, port = 0 }) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    const headers = { 'Cache-Control': 'no-store' };
    if (isolated)
      Object.assign(headers, {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      });
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const mount = table.find(([prefix]) => path.startsWith(prefix) || `${path}/` === prefix);
      if (!mount || (req.method !== 'GET' && req.method !== 'HEAD'))
        throw Object.assign(new Error('not found'), { status: 404 });
      const [prefix, dir] = mount;
      let file = normalize(join(dir, path.slice(prefix.length)));
      // Never serve outside the mounted directory.
      if (file !== dir && !file.startsWith(dir + sep)) throw Object.assign(new Error('forbidden'), { status: 403 });
      let info = await stat(file).catch(() => null);
      if (info?.isDirectory()) {
        file = join(file, 'index.html');
        info = await stat(file).catch(() => null);
      }
      if (!info?.isFile()) throw Object.assign(new Error('not found'), { status: 404 });
      res.writeHead(200, {
        ...headers,
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': info.size,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch (err) {
      res.writeHead(err.status ?? 500, { ...headers, 'Content-Type': 'text/plain' });
      res.end(String(err.message));
    }
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  const { port: bound } = server.address();
  // close() also ends idle keep-alive connections: a browser holds them open for minutes otherwise.
  const close = () =>
    new Promise((ok) => {
      server.close(ok);
      server.closeAllConnections();
    });
  return { url: `http://127.0.0.1:${bound}/`, close };
}
