/** The browser build's `node:path`: `join` for the names in error messages (model-io.ts); models are named by URLs here. */
export function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/{2,}/g, (m, at: number, s: string) => (s.slice(0, at).endsWith(':') ? m : '/'));
}
