/**
 * The browser build's io/version.ts: the version is written in at build time (scripts/build-browser.mjs), not read
 * from package.json.
 */
declare const __LOCKSTEP_VERSION__: string;

export function lockstepVersion(): string {
  return typeof __LOCKSTEP_VERSION__ === 'string' ? __LOCKSTEP_VERSION__ : 'unknown';
}
