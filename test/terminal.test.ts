/**
 * The terminal is left as it was found: the verbose-1 bar fits the terminal's width with every metric
 * visible, and the cursor (and line wrapping) come back on Ctrl-C, on process exit and when fit rejects.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { ProgbarLogger } from '../src/callbacks/progress.js';
import { fitLines, visibleWidth } from '../src/callbacks/live-lines.js';

const fixture = fileURLToPath(new URL('./fixtures/progress-exit.mjs', import.meta.url));
const SHOW = '\x1b[?25h';
const HIDE = '\x1b[?25l';

class Terminal extends Writable {
  text = '';
  isTTY = true;
  constructor(public columns: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  /** The block on screen after the last redraw, escapes stripped. */
  lastFrame(): string[] {
    const frames = this.text.split('\x1b[1G');
    return frames[frames.length - 1]
      .split('\n')
      .map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))
      .filter((l) => l !== '');
  }
}

const HITTERS = {
  loss: 452430.46875,
  mean_absolute_error: 533.708923,
  val_loss: 538436.6875,
  val_mean_absolute_error: 565.33984,
};

describe('the progress bar fits the terminal', () => {
  for (const columns of [80, 60, 40]) {
    it(`at ${columns} columns every line fits and every metric is visible`, () => {
      let t = 0;
      const stream = new Terminal(columns);
      const cb = new ProgbarLogger({ verbose: 1, stream, now: () => t });
      cb.setParams({ epochs: 1, steps: 9, verbose: 1 });
      cb.onTrainBegin();
      cb.onEpochBegin(0);
      for (let b = 0; b < 9; b++) {
        t += 100;
        cb.onBatchEnd(b, { loss: 452430.46875, mean_absolute_error: 533.708923 });
        for (const line of stream.lastFrame()) expect(visibleWidth(line)).toBeLessThan(columns);
      }
      cb.onEpochEnd(0, HITTERS);
      const final = stream.lastFrame();
      for (const line of final) expect(visibleWidth(line)).toBeLessThan(columns);
      const shown = final.join(' ');
      for (const [k, v] of [
        ['loss', '452430.4688'],
        ['mean_absolute_error', '533.7089'],
        ['val_loss', '538436.6875'],
        ['val_mean_absolute_error', '565.3398'],
      ]) {
        expect(shown).toContain(`${k}: ${v}`);
      }
      cb.onTrainEnd();
      expect(stream.text.lastIndexOf(SHOW)).toBeGreaterThan(stream.text.lastIndexOf(HIDE));
    });
  }

  it('at 30 columns the bar graphic goes first, and a metric wider than the terminal is still printed whole', () => {
    let t = 0;
    const stream = new Terminal(30);
    const cb = new ProgbarLogger({ verbose: 1, stream, now: () => t });
    cb.setParams({ epochs: 1, steps: 9, verbose: 1 });
    cb.onTrainBegin();
    cb.onEpochBegin(0);
    t = 100;
    cb.onBatchEnd(0, { loss: 0.5 });
    t = 200;
    cb.onEpochEnd(0, HITTERS);
    const final = stream.lastFrame();
    expect(final[0]).not.toContain('━');
    expect(visibleWidth(final[0])).toBeLessThan(30);
    expect(final.join('')).toContain('val_mean_absolute_error: 565.3398');
    // A redraw moves up over every row the block took, wrapped ones included: 3 lines on 4 rows, so up 3.
    cb.onEpochBegin(0);
    t = 400;
    cb.onBatchEnd(0, { loss: 0.5, val_mean_absolute_error: 565.33984 });
    t = 500;
    cb.onBatchEnd(1, { loss: 0.5, val_mean_absolute_error: 565.33984 });
    const redraw = stream.text.slice(stream.text.lastIndexOf('\x1b[1G') - 8);
    expect(redraw).toMatch(/\x1b\[3A\x1b\[1G/);
    cb.onTrainEnd();
  });

  it('fitLines keeps a line whole when it fits and wraps metric by metric when not', () => {
    expect(fitLines('9/9 0s', ['loss: 1', 'mae: 2'], 80)).toEqual(['9/9 0s - loss: 1 - mae: 2']);
    expect(fitLines('9/9 0s', ['loss: 1', 'mae: 2'], 17)).toEqual(['9/9 0s - loss: 1', ' - mae: 2']);
  });
});

function child(mode: string): Promise<{ stdout: string; signal: string | null; code: number | null }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fixture, mode], { timeout: 60_000 }, (err, stdout) => {
      resolve({
        stdout,
        signal: (err as { signal?: string } | null)?.signal ?? null,
        code: err ? ((err as { code?: number }).code ?? null) : 0,
      });
    });
  });
}

describe('the terminal is restored', () => {
  it('on SIGINT during the bar: cursor shown, wrapping on, and the process still ends by the signal', async () => {
    const r = await child('sigint');
    expect(r.signal).toBe('SIGINT');
    expect(r.stdout).toContain(HIDE);
    expect(r.stdout.endsWith(`${SHOW}\x1b[?7h`)).toBe(true);
    expect(r.stdout).not.toContain('STILL RUNNING');
  });

  it('on process.exit during the bar', async () => {
    const r = await child('exit');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(HIDE);
    expect(r.stdout.endsWith(`${SHOW}\x1b[?7h`)).toBe(true);
  });

  it('when fit rejects while its bar shows', async () => {
    const r = await child('fit');
    expect(r.stdout).toContain(HIDE);
    const rejected = r.stdout.indexOf('REJECTED');
    expect(rejected).toBeGreaterThan(0);
    expect(r.stdout.lastIndexOf(SHOW, rejected)).toBeGreaterThan(r.stdout.lastIndexOf(HIDE, rejected));
  }, 60_000);
});
