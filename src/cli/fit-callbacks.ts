/**
 * The built-in callbacks a model config's `fit.callbacks` may name, with their options:
 *
 *   "callbacks": ["TerminateOnNaN", { "className": "EarlyStopping", "patience": 3 },
 *                 { "className": "TensorBoard", "logDir": "runs/a" }]
 *
 * Each entry is checked by building it, so a typo in a name or an option fails before any data loads.
 */
import { callbacks as C, type Callback } from '../index.js';
import { closestName } from '../errors.js';

const FACTORIES: Record<string, (options: Record<string, unknown>) => Callback> = {
  EarlyStopping: (o) => new C.EarlyStopping(o),
  ReduceLROnPlateau: (o) => new C.ReduceLROnPlateau(o),
  // Keras's positional arguments are named fields here: { "className": "CSVLogger", "filename": "log.csv" }.
  CSVLogger: ({ filename, ...o }) => new C.CSVLogger(filename as string, o),
  ModelCheckpoint: ({ filepath, ...o }) => new C.ModelCheckpoint(filepath as string, o),
  TensorBoard: (o) => new C.TensorBoard(o),
  TerminateOnNaN: (o) => new C.TerminateOnNaN(o),
};

export const CALLBACK_NAMES = Object.keys(FACTORIES);

/** A callback spec of a config: its class name alone, or { className, ...options }. */
export type CallbackSpec = string | ({ className: string } & Record<string, unknown>);

/** Builds the callbacks of `specs`; errors name the entry (`fit.callbacks[1]`). */
export function buildCallbacks(specs: readonly unknown[], where: string): Callback[] {
  return specs.map((spec, i) => {
    const at = `${where}[${i}]`;
    const { className, ...options } =
      typeof spec === 'string'
        ? { className: spec }
        : spec !== null && typeof spec === 'object' && !Array.isArray(spec)
          ? (spec as { className?: unknown })
          : { className: undefined };
    if (typeof className !== 'string' || !Object.hasOwn(FACTORIES, className)) {
      const near = typeof className === 'string' ? closestName(className, CALLBACK_NAMES) : undefined;
      throw new Error(
        `${at}: must be one of ${CALLBACK_NAMES.join(', ')} (a name, or { "className": ..., options })${near ? `; did you mean "${near}"?` : ''}. Received: ${JSON.stringify(spec)}`,
      );
    }
    try {
      return FACTORIES[className](options);
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
    }
  });
}
