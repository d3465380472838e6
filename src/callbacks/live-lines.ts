/**
 * A block of lines redrawn in place on a terminal: the live progress bar of `verbose: 1`.
 *
 * Each line is fitted to the terminal's width by wrapping its parts (the bar, then ` - loss: ...` per metric)
 * onto more lines, so no metric is cut off; line wrapping of the terminal itself is never turned off. The
 * cursor is hidden while the block shows, and shown again when it stops, on SIGINT or SIGTERM, and on any exit
 * of the process.
 */
const CSI = '\x1b[';
const SHOW_CURSOR = `${CSI}?25h`;
const HIDE_CURSOR = `${CSI}?25l`;
/** Line wrapping on (DECAWM), in case an earlier program (or an older lockstep) left it off. */
const WRAP_ON = `${CSI}?7h`;

/** The visible width of a string: ANSI escapes take no columns. */
export function visibleWidth(s: string): number {
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length;
}

/**
 * `head` then each of `parts`, joined with ' - ' on as few lines as fit in `width` columns; a part that does
 * not fit after others starts a new line (indented by ' - '). A line that is still too wide (a terminal
 * narrower than one part) is left to the terminal to wrap.
 */
export function fitLines(head: string, parts: readonly string[], width: number): string[] {
  const lines = [head];
  for (const part of parts) {
    const last = lines.length - 1;
    const joined = `${lines[last]} - ${part}`;
    if (visibleWidth(joined) <= width) lines[last] = joined;
    else lines.push(` - ${part}`);
  }
  return lines;
}

const live = new Set<LiveLines>();

function restoreAll(): void {
  for (const block of live) block.restore();
}

/** On a signal: put the terminal back, then end the process as Node would have, unless someone else listens. */
function onSignal(signal: NodeJS.Signals): void {
  restoreAll();
  unhook();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
const onSigint = () => onSignal('SIGINT');
const onSigterm = () => onSignal('SIGTERM');

function hook(): void {
  if (live.size > 0) return;
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  process.on('exit', restoreAll);
}

function unhook(): void {
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigterm);
  process.removeListener('exit', restoreAll);
}

export class LiveLines {
  /** Lines drawn by the last draw; 0 before the first. */
  #height = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  /** The terminal's width in columns, less one: writing into the last column makes some terminals wrap early. */
  get width(): number {
    const columns = (this.stream as { columns?: number }).columns;
    return Math.max(20, (typeof columns === 'number' && columns > 0 ? columns : 80) - 1);
  }

  /** Replaces the block with `lines`. */
  draw(lines: readonly string[]): void {
    let out = '';
    if (this.#height === 0) {
      hook();
      live.add(this);
      out += HIDE_CURSOR;
    } else if (this.#height > 1) {
      out += `${CSI}${this.#height - 1}A`;
    }
    out += `${CSI}1G`;
    lines.forEach((line, i) => (out += `${i > 0 ? '\n' : ''}${CSI}2K${line}`));
    // A block that got shorter (fewer metrics wrapped) leaves nothing below it.
    if (lines.length < this.#height) out += `${CSI}0J`;
    this.stream.write(out);
    // Rows on screen: a line wider than the terminal (one metric wider than it) wraps onto more of them.
    const columns = this.width + 1;
    this.#height = lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(visibleWidth(line) / columns)), 0);
  }

  /** Ends the block: the cursor moves below it and shows again. */
  stop(): void {
    if (this.#height === 0) return;
    this.stream.write(`\n${SHOW_CURSOR}`);
    this.#forget();
  }

  /** For signals and exit: show the cursor and turn line wrapping on, whatever state the block is in. */
  restore(): void {
    if (this.#height === 0) return;
    // Synchronous enough: writes to a TTY are synchronous in Node, and this may run in an 'exit' handler.
    this.stream.write(`\n${SHOW_CURSOR}${WRAP_ON}`);
    this.#forget();
  }

  #forget(): void {
    this.#height = 0;
    live.delete(this);
    if (live.size === 0) unhook();
  }
}
