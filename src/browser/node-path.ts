/**
 * The browser build's `node:path`: `join` for the names in error messages (model-io.ts); models are named by URLs
 * here.
 */
export function join(...parts: string[]): string {
  // Collapse repeated slashes, but not the two after a scheme ('indexeddb://name').
  return parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/(?<!:)\/{2,}/g, '/');
}
