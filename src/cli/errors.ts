/**
 * The CLI's two kinds of failure and their exit codes: 2 when the command line (or a config file it names)
 * is wrong and nothing ran, 1 when a valid command failed while running (a model that does not load...).
 */

/** Exit code for a usage error: a bad option, argument or config file. */
export const EXIT_USAGE = 2;
/** Exit code for a command that was understood but failed. */
export const EXIT_FAILURE = 1;

/** A mistake in what the user typed or wrote in a config file; the CLI exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An error's message on one line, so scripts reading stderr get one line per error. */
export function oneLine(text: string): string {
  return text
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
