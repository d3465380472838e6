/**
 * The browser build's io/artifacts.ts: where a model's two files go and come from in a page.
 *
 * - `indexeddb://name`: both files in one IndexedDB record (database 'lockstep', store 'models'), written in one
 *   transaction, so a save replaces the old model whole or not at all.
 * - `downloads://name`: saving only; the browser downloads `name.json` and `name.weights.bin`.
 * - any other string is a URL (relative to the page): `…/model.json`, or a directory holding model.json. The
 *   weights files its manifest lists must lie in the same directory.
 *
 * Loading checks everything before it returns, as in Node (io/model-json.ts).
 */
import { quote } from '../io/json.js';
import {
  MODEL_JSON,
  decodeModelFiles,
  encodeModelFiles,
  parseModelJson,
  type LoadedArtifacts,
  type SaveArtifactsInput,
} from '../io/model-json.js';

export {
  MODEL_JSON,
  WEIGHTS_BIN,
  type TrainingConfig,
  type SaveArtifactsInput,
  type LoadedArtifacts,
} from '../io/model-json.js';

const IDB = 'indexeddb://';
const DOWNLOADS = 'downloads://';
const DB_NAME = 'lockstep';
const STORE = 'models';

interface StoredModel {
  modelJson: Uint8Array;
  weights: Uint8Array;
}

function nameAfter(scheme: string, dest: string, what: string): string {
  const name = dest.slice(scheme.length);
  if (name === '' || name.length > 200 || /[\\/\0]/.test(name))
    throw new Error(`${what}: ${quote(dest)} needs a name after ${scheme} (1-200 characters, no slashes)`);
  return name;
}

export async function saveArtifacts(dest: string, input: SaveArtifactsInput): Promise<void> {
  if (typeof dest !== 'string' || dest === '')
    throw new Error(
      `saveArtifacts: the destination must be 'indexeddb://name' or 'downloads://name'. Received: ${quote(dest)}`,
    );
  const { modelJson, weightsBin } = encodeModelFiles(input, 'saveArtifacts');
  const weights = join(weightsBin);
  if (dest.startsWith(IDB)) {
    const name = nameAfter(IDB, dest, 'save');
    await withStore('readwrite', (store) => store.put({ modelJson, weights } satisfies StoredModel, name));
    return;
  }
  if (dest.startsWith(DOWNLOADS)) {
    const name = nameAfter(DOWNLOADS, dest, 'save');
    // The manifest names the weights file as it will be downloaded, so the two files load together from a URL.
    const json = JSON.parse(new TextDecoder().decode(modelJson)) as { weightsManifest: { paths: string[] }[] };
    json.weightsManifest[0].paths = [`${name}.weights.bin`];
    download(`${name}.json`, new Blob([JSON.stringify(json)], { type: 'application/json' }));
    download(`${name}.weights.bin`, new Blob([weights], { type: 'application/octet-stream' }));
    return;
  }
  throw new Error(
    `save: in a browser a model is saved to 'indexeddb://name' or 'downloads://name'. Received: ${quote(dest)}`,
  );
}

export async function loadArtifacts(source: string): Promise<LoadedArtifacts> {
  if (typeof source !== 'string' || source === '')
    throw new Error(`loadModel: expected 'indexeddb://name' or the URL of a model.json. Received: ${quote(source)}`);
  if (source.startsWith(IDB)) {
    const name = nameAfter(IDB, source, 'loadModel');
    const stored = (await withStore('readonly', (store) => store.get(name))) as StoredModel | undefined;
    if (stored === undefined)
      throw new Error(`loadModel: no model saved as ${quote(source)} in this browser's IndexedDB`);
    if (!(stored?.modelJson instanceof Uint8Array) || !(stored.weights instanceof Uint8Array))
      throw new Error(`loadModel: the IndexedDB record ${quote(source)} is not a lockstep model`);
    const json = parseModelJson(stored.modelJson, `${source}/${MODEL_JSON}`);
    // One record holds one weights file, whatever the manifest calls it.
    return decodeModelFiles(json, `${source}/${MODEL_JSON}`, async () => ({
      name: `${source}/weights`,
      bytes: stored.weights,
    }));
  }
  if (source.startsWith(DOWNLOADS))
    throw new Error(
      `loadModel: ${quote(source)} cannot be read back; serve the downloaded files and pass the URL of the .json file`,
    );
  const jsonUrl = new URL(
    /\.json$/i.test(source) ? source : `${source.replace(/\/?$/, '/')}${MODEL_JSON}`,
    globalThis.location?.href,
  );
  const dir = new URL('./', jsonUrl).href;
  const json = parseModelJson(await fetchBytes(jsonUrl.href), jsonUrl.href);
  return decodeModelFiles(json, jsonUrl.href, async (path) => {
    const url = new URL(path, jsonUrl);
    // As on disk: a manifest may not send the loader elsewhere (another directory, another origin).
    if (!url.href.startsWith(dir) || /^[a-z][a-z0-9+.-]*:|^\//i.test(path))
      throw new Error(`${jsonUrl.href}: weights path ${quote(path)} points outside the model directory`);
    return { name: url.href, bytes: await fetchBytes(url.href) };
  });
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Cannot read ${url}: ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

function join(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

function withStore(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(new Error(`IndexedDB: cannot open database '${DB_NAME}': ${open.error?.message}`));
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(STORE, mode);
      const req = use(tx.objectStore(STORE));
      tx.oncomplete = () => {
        db.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(
          new Error(
            `IndexedDB: ${mode === 'readwrite' ? 'saving' : 'reading'} failed: ${tx.error?.message ?? 'aborted'}`,
          ),
        );
      };
    };
  });
}
