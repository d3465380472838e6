/**
 * Ctrl-C (SIGINT) during `lockstep train`. The first one while the model trains stops it after the step in
 * hand (Keras's `stop_training`, so no step is cut in half), and train then saves what it has and says so,
 * exiting with 130 as a shell expects of Ctrl-C. Before training starts, or a second time, it exits at once
 * and says what was (not) kept. The progress bar gives the terminal back on its own (callbacks/live-lines).
 */
import { Callback, type Model } from '../index.js';

/** The shell's exit status for a process stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export class TrainInterrupt {
  #model: Model | undefined;
  #saving: string | undefined;
  #count = 0;

  /** `say` prints one line on stderr, prefixed like the command's errors. */
  constructor(private readonly say: (line: string) => void) {
    process.on('SIGINT', this.#onSigint);
  }

  /** True once Ctrl-C was pressed during training or saving: train then reports and exits with 130. */
  get interrupted(): boolean {
    return this.#count > 0;
  }

  /** From now on, Ctrl-C stops `model` after its current step. */
  training(model: Model): void {
    this.#model = model;
  }

  /** For fit's callbacks: a Ctrl-C that came while fit was starting (it resets stopTraining) still stops it. */
  callback(): Callback {
    const self = this;
    return new (class extends Callback {
      onTrainBegin(): void {
        if (self.interrupted) this.model.stopTraining = true;
      }
    })();
  }

  /** From now on, a second Ctrl-C leaves `dir` possibly incomplete (and says so). */
  saving(dir: string): void {
    this.#saving = dir;
  }

  dispose(): void {
    process.removeListener('SIGINT', this.#onSigint);
  }

  #onSigint = (): void => {
    this.#count++;
    if (this.#count === 1 && this.#model) {
      this.#model.stopTraining = true;
      if (this.#saving === undefined)
        this.say(
          'interrupted: stopping after the step in hand, then saving the model (Ctrl-C again to quit without saving)',
        );
      return;
    }
    if (this.#saving !== undefined)
      this.say(`interrupted while saving to ${this.#saving}: its files may be incomplete`);
    else
      this.say(this.#model ? 'interrupted again: nothing saved' : 'interrupted before training started: nothing saved');
    process.exit(EXIT_INTERRUPTED);
  };
}
