/** Keras 3's summary table: name (type), output shape, param count, then totals with their size in bytes. */
import type { Layer } from './layers/layer.js';

const fmt = (n: number) => n.toLocaleString('en-US');

/** Keras's readable sizes: 4.11 KB, 427.29 KB, 1.20 MB (powers of 1024). */
function readableBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}

export function paramCount(layer: Layer): number {
  return layer.built ? layer.params().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0) : 0;
}

/** A built layer's weights that no optimizer trains (BatchNormalization's moving statistics). */
function nonTrainableCount(layer: Layer): number {
  return layer.built
    ? layer.params().reduce((n, p) => n + (p.movingAverage ? p.shape.reduce((a, b) => a * b, 1) : 0), 0)
    : 0;
}

export function summaryTable(modelName: string, layers: Layer[]): string {
  const widths = [33, 24, 15];
  const rows = layers
    .filter((l) => l.className !== 'InputLayer')
    .map((l) => [
      `${l.name} (${l.className})`,
      l.outputShape ? `(None, ${l.outputShape.join(', ')})` : '?',
      fmt(paramCount(l)),
    ]);
  const cell = (text: string, i: number) =>
    i === 2 ? ` ${text.padStart(widths[i] - 2)} ` : ` ${text.padEnd(widths[i] - 2)} `;
  const line = (l: string, m: string, r: string, fill: string) => l + widths.map((w) => fill.repeat(w)).join(m) + r;
  const out = [
    `Model: "${modelName}"`,
    line('┏', '┳', '┓', '━'),
    '┃' + ['Layer (type)', 'Output Shape', 'Param #'].map(cell).join('┃') + '┃',
    line('┡', '╇', '┩', '━'),
  ];
  rows.forEach((r, i) => {
    out.push('│' + r.map(cell).join('│') + '│');
    if (i < rows.length - 1) out.push(line('├', '┼', '┤', '─'));
  });
  out.push(line('└', '┴', '┘', '─'));
  const total = layers.reduce((n, l) => n + paramCount(l), 0);
  const frozen = layers.reduce((n, l) => n + nonTrainableCount(l), 0);
  out.push(` Total params: ${fmt(total)} (${readableBytes(total * 4)})`);
  out.push(` Trainable params: ${fmt(total - frozen)} (${readableBytes((total - frozen) * 4)})`);
  out.push(` Non-trainable params: ${fmt(frozen)} (${readableBytes(frozen * 4)})`);
  return out.join('\n');
}

/** Keras 3's table for a functional model: every layer call, with the calls it reads ("Connected to"). */
export function functionalSummaryTable(
  modelName: string,
  rows: { layer: Layer; shape: number[]; connected: string[] }[],
  layers: Layer[],
): string {
  const longest = (texts: string[], min: number) => Math.max(min, ...texts.map((t) => t.length + 2));
  const widths = [
    longest(
      rows.map((r) => `${r.layer.name} (${r.layer.className})`),
      29,
    ),
    22,
    11,
    longest(
      rows.flatMap((r) => r.connected),
      24,
    ),
  ];
  const cell = (text: string, i: number) =>
    i === 2 ? ` ${text.padStart(widths[i] - 2)} ` : ` ${text.padEnd(widths[i] - 2)} `;
  const line = (l: string, m: string, r: string, fill: string) => l + widths.map((w) => fill.repeat(w)).join(m) + r;
  const out = [
    `Model: "${modelName}"`,
    line('┏', '┳', '┓', '━'),
    '┃' + ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'].map(cell).join('┃') + '┃',
    line('┡', '╇', '┩', '━'),
  ];
  const counted = new Set<Layer>();
  rows.forEach((r, i) => {
    // A shared layer's weights count once, at its first call.
    const params = counted.has(r.layer) ? 0 : paramCount(r.layer);
    counted.add(r.layer);
    const connected = r.connected.length ? r.connected : ['-'];
    connected.forEach((c, k) => {
      const cells =
        k === 0
          ? [`${r.layer.name} (${r.layer.className})`, `(None, ${r.shape.join(', ')})`, fmt(params), c]
          : ['', '', '', c];
      out.push('│' + cells.map(cell).join('│') + '│');
    });
    if (i < rows.length - 1) out.push(line('├', '┼', '┤', '─'));
  });
  out.push(line('└', '┴', '┘', '─'));
  const total = layers.reduce((n, l) => n + paramCount(l), 0);
  const frozen = layers.reduce((n, l) => n + nonTrainableCount(l), 0);
  out.push(` Total params: ${fmt(total)} (${readableBytes(total * 4)})`);
  out.push(` Trainable params: ${fmt(total - frozen)} (${readableBytes((total - frozen) * 4)})`);
  out.push(` Non-trainable params: ${fmt(frozen)} (${readableBytes(frozen * 4)})`);
  return out.join('\n');
}
