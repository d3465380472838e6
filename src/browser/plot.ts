/** The browser build's plot.ts: a page has no files to write a figure to. */
export async function plotHistory(): Promise<void> {
  throw new Error(
    'lockstep: history.plot(file) writes a file, which a browser cannot; draw history.history in the page instead',
  );
}
