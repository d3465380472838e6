/** Untrusted values and texts made safe to print in a message: no control characters, bounded length. */

/** A value for a message: short, and without control characters that would reach the terminal. */
export function printable(v: unknown, max = 80): string {
  const s = (
    typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v))
  ).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
/** A worker's text (a failed job's reason, a host name) made safe to print: no control characters, bounded. */
export function cleanText(text: unknown, max = 2000): string {
  const s = (typeof text === 'string' ? text : String(text))
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')
    .replace(/\n/g, ' ');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
