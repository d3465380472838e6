import type { CaseResult, CaseSpec } from './case.js';
export async function runTfjsCase(spec: CaseSpec): Promise<CaseResult> { throw new Error('todo ' + spec.runner); }
