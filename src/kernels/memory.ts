/** WebAssembly memory pages: the unit `WebAssembly.Memory` grows by. */
export const PAGE = 65536;

/** Grows `memory` until it holds at least `bytes`; views of a shared memory stay valid when it grows. */
export function growTo(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
}
