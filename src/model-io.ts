import type { Sequential } from './sequential.js';
export async function saveModel(_model: Sequential, _dir: string): Promise<void> {
  throw new Error('not yet wired');
}
