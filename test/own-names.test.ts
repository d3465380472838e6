/**
 * Names that come from files, jobs or the command line are looked up as a table's own keys only: 'constructor',
 * 'toString', '__proto__' or 'hasOwnProperty' are unknown like any other name, never something inherited from
 * Object.prototype. (The CLI's and the sweep worker's example names: test/cli-train.test.ts.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNpy } from '../src/data/index.js';
import { historyToSvg } from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-own-names-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('own names only', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty'])(
    ".npy dtype '<%s' is refused, not read as zeros",
    async (code) => {
      let header = `{'descr': '<${code}', 'fortran_order': False, 'shape': (2,), }`;
      header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
      const pre = Buffer.alloc(10);
      Buffer.from('\x93NUMPY', 'latin1').copy(pre);
      pre[6] = 1;
      pre.writeUInt16LE(header.length, 8);
      const file = join(tmp, `${code}.npy`);
      await writeFile(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]));
      await expect(loadNpy(file)).rejects.toThrow(`dtype <${code} is not supported`);
    },
  );

  it("a history metric called 'constructor' is labelled with its own name", () => {
    const svg = historyToSvg({ constructor: [1, 0.5] } as never);
    expect(svg).toContain('>Constructor<');
    expect(svg).not.toContain('native code');
  });
});
