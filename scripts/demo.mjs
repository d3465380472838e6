#!/usr/bin/env node
/**
 * `npm run demo`: serves the web home (demo/, the bench page, the API reference from `npm run docs`) with the
 * cross-origin-isolation headers that Web Workers sharing memory need, on 127.0.0.1, and prints the URL.
 *
 *   npm run demo              # a random free port
 *   PORT=8080 npm run demo    # a fixed one
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './static-server.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.PORT === undefined ? 0 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  throw new Error(`PORT must be a port number. Received: ${process.env.PORT}`);
const { url } = await startServer({ mounts: { '/': ROOT }, port });
console.log(
  `lockstep demo: ${url}demo/  (bench: ${url}demo/bench.html, API reference: ${url}dist/docs/api/index.html)`,
);
console.log('Ctrl-C stops the server.');
