/**
 * Test-only: `LOCKSTEP_TEST_HOLD_AFTER_EPOCH=N` makes a sweep or a worker stop moving after checkpointing
 * epoch N of its first job (it prints "holding"), so a test can kill it mid-job at a known point instead of
 * racing a timer. Never set it outside tests.
 */
const HOLD_AFTER_EPOCH = Number(process.env.LOCKSTEP_TEST_HOLD_AFTER_EPOCH) || 0;

/** Waits forever when `first` and 0-based `epoch` is the one to hold after. */
export async function holdForTest(first: boolean, epoch: number, log: (line: string) => void): Promise<void> {
  if (!first || epoch + 1 !== HOLD_AFTER_EPOCH) return;
  log(`holding after epoch ${epoch + 1} (LOCKSTEP_TEST_HOLD_AFTER_EPOCH)`);
  await new Promise(() => {});
}
