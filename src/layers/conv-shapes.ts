/**
 * Output shapes and paddings of convolutions and poolings, as Keras computes them
 * (keras/src/ops/operation_utils.py): one function used by build, summary, the bad-input checks and the
 * backward passes alike.
 *
 * 'valid': out = floor((in - dilatedKernel) / stride) + 1, an error when that is below 1.
 * 'same':  out = ceil(in / stride), padded as TensorFlow pads: the total split with the extra row at the end.
 */
import { badOption } from '../errors.js';

export type Padding = 'valid' | 'same';

/** A 2-D window: kernel or pool size, strides, dilation, padding. */
export interface Window2D {
  size: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
}

/** One spatial axis: the output length and the padding before and after. */
export interface AxisPlan {
  out: number;
  before: number;
  after: number;
}

/** The output length and padding of one axis, or null when 'valid' leaves no output. */
export function axisPlan(
  input: number,
  size: number,
  stride: number,
  dilation: number,
  padding: Padding,
): AxisPlan | null {
  const dilated = (size - 1) * dilation + 1;
  if (padding === 'valid') {
    const out = Math.floor((input - dilated) / stride) + 1;
    return out >= 1 ? { out, before: 0, after: 0 } : null;
  }
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + dilated - input, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** Both spatial axes of an [h, w, c] input, or an error naming the layer and the shapes (Keras's wording). */
export function windowPlan(where: string, inputShape: number[], win: Window2D, what = 'kernel'): [AxisPlan, AxisPlan] {
  if (inputShape.length !== 3) {
    throw new Error(
      `${where} expects inputs of rank 4, i.e. shape (None, height, width, channels). Received: (None, ${inputShape.join(', ')})`,
    );
  }
  const plans = [0, 1].map((a) => axisPlan(inputShape[a], win.size[a], win.strides[a], win.dilation[a], win.padding));
  if (!plans[0] || !plans[1]) {
    throw new Error(
      `${where}: computed output size would be negative: a ${what} of ${win.size.join('x')}` +
        (win.dilation.some((d) => d > 1) ? ` (dilation ${win.dilation.join('x')})` : '') +
        ` does not fit an input of ${inputShape[0]}x${inputShape[1]} with padding 'valid'. Received: input shape (None, ${inputShape.join(', ')})`,
    );
  }
  return plans as [AxisPlan, AxisPlan];
}

/** An int or a pair of ints (Keras's `kernel_size=3` or `(3, 3)`), each a positive integer. */
export function pairOption(where: string, option: string, value: unknown): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : value;
  if (
    !Array.isArray(pair) ||
    pair.length !== 2 ||
    !pair.every((v) => typeof v === 'number' && Number.isInteger(v) && v > 0)
  ) {
    throw badOption(where, option, 'a positive integer or a pair of positive integers', value);
  }
  return [pair[0], pair[1]];
}

export function paddingOption(where: string, value: unknown): Padding {
  const v = value === undefined ? 'valid' : value;
  if (v !== 'valid' && v !== 'same') throw badOption(where, 'padding', "'valid' or 'same'", value);
  return v;
}

/** Only channels_last exists here (tfjs-wasm's convolutions and pools are NHWC). */
export function dataFormatOption(where: string, value: unknown): 'channels_last' {
  if (value !== undefined && value !== null && value !== 'channels_last')
    throw badOption(where, 'dataFormat', "'channels_last' (channels_first is not supported)", value);
  return 'channels_last';
}

/** How a layer names itself in errors: `Conv2D 'conv2d_1'`, or just the class before it has a name. */
export const layerWhere = (className: string, name: string | undefined) => `${className}${name ? ` '${name}'` : ''}`;
