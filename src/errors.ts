/** Error helpers: every message names the offending thing and lists what would have been valid. */

/** An unknown name (loss, metric, optimizer, activation...), listing the valid ones. */
export function unknownName(kind: string, received: unknown, valid: readonly string[], where?: string): Error {
  const plural = kind.endsWith('s') ? `${kind}es` : `${kind}s`;
  return new Error(`${where ? `${where}: ` : ''}Unknown ${kind}: ${JSON.stringify(received)}. Valid ${plural}: ${valid.join(', ')}`);
}

/** An invalid option: `${owner}: ${option} must be ${rule}. Received: ${option}=${value}`. */
export function badOption(owner: string, option: string, rule: string, value: unknown): Error {
  return new RangeError(`${owner}: ${option} must be ${rule}. Received: ${option}=${JSON.stringify(value)}`);
}

export function checkPositiveInt(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw badOption(owner, option, 'a positive integer', value);
  return value;
}

export function checkNonNegativeInt(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badOption(owner, option, 'a non-negative integer', value);
  return value;
}

export function checkFraction(owner: string, option: string, value: unknown, { closedRight = false } = {}): number {
  const ok = typeof value === 'number' && value >= 0 && (closedRight ? value <= 1 : value < 1);
  if (!ok) throw badOption(owner, option, closedRight ? 'in [0, 1]' : 'in [0, 1)', value);
  return value as number;
}

export function checkPositiveNumber(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw badOption(owner, option, 'a positive finite number', value);
  return value;
}
